#!/bin/bash
# t_fault_frames.sh - frame accounting under sustained load (the short
# cousin of scripts/soak, part of `make test`).
#
# A receiver under the shim that keeps up with a paced stream (FRAMES_COUNT,
# default 2 M datagrams at FRAMES_RATE, default 300k pps: ~7 s each) keeps nearly
# every UMEM frame on the fill ring - the situation in which a frame return
# can find the fill ring looking full (the kernel publishes its consumer
# index lazily).  At exit every frame must be back: "accounted yes" and
# held_by_readers 0.  Four receivers: streamrecv (poll), fault_recv poll and
# blocking styles, and a 2-socket SO_REUSEPORT group (two readers returning
# frames to one shared fill ring).  The leak this caught before commit
# fd899f8 (ring_umem_fill dropped frames it could not post) was a race:
# about one frame per 1-2 M datagrams at 300k pps here, so four runs caught
# it nearly always.
T=t_fault_frames
. "$(dirname "$0")/fault_lib.sh"
fl_setup

COUNT=${FRAMES_COUNT:-2000000}
RATE=${FRAMES_RATE:-300000}
D=$FL_TMP

for v in "streamrecv streamrecv --port 9000" "poll fault_recv --port 9000 --style poll" \
	 "block fault_recv --port 9000 --style block" "reuseport2 streamrecv --port 9000 --threads 2"; do
	set -- $v
	t=$1; shift
	FL_OUT=$D/$t.out FL_ERR=$D/$t.err fl_bg_rcv R env $(shim_env) "$@" --expect "$COUNT" --idle-ms 3000 \
		--max-secs $((COUNT / RATE * 3 + 20)) --rcvbuf 33554432
	wait_file "$D/$t.err" 'accelerated: fd' 5 || { fail "$t: not accelerated: $(head -2 "$D/$t.err")"; continue; }
	wait_file "$D/$t.err" ': ready' 5
	in_gen udpgen --dst "$ADDR_RCV" --port 9000 --flows 8 --count "$COUNT" --rate "$RATE" \
		--duration-max $((COUNT / RATE * 3 + 10)) >"$D/$t.gen"
	wait_exit "$R" $((COUNT / RATE * 3 + 30)) || stop_pid "$R" 5
	got=$(kv "$D/$t.out" received); miss=$(kv "$D/$t.out" missing)
	rx=$(summary_sock_sum "$D/$t.err" rx_xdp)
	# delivery is not the point here (a slow machine may drop a few at
	# this rate); it is reported, and must have gone through AF_XDP
	check "$([ "$rx" -gt $((COUNT / 2)) ]; echo $?)" \
		"$t: sustained stream through AF_XDP ($got of $COUNT, missing $miss, rx_xdp $rx, $(grep -oE 'pps=[0-9.]+' "$D/$t.gen"))"
	[ "$miss" = 0 ] || echo "# $t: $miss datagrams lost at $RATE pps (machine too slow for this rate?)"
	check_accounted "$D/$t.err" "$t: after $COUNT datagrams"
done
fl_finish
