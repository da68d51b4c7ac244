# scripts/knot.sh - the one knotd setup the tests and the benchmark share:
# a tiny authoritative zone "example." (www A 198.18.1.80, www AAAA
# 2001:2::80, ns A = the receiver's address) and a knot.conf with one UDP
# worker.  Sourced (after scripts/netns.sh, whose ADDR_RCV it uses).
#
#   knot_zone FILE
#     writes the example. zone to FILE (world-readable: named, pdns and knotd
#     read it after dropping privileges)
#
#   knot_setup DIR LISTEN [LOGLEVEL [XDP_IFACE@PORT]]
#     writes DIR/example.zone and DIR/knot.conf (rundir and storage under
#     DIR); LISTEN is knot's listen value ("198.18.0.2@53" or
#     "[ a@p, b@p ]"); XDP_IFACE@PORT adds knot's own XDP listener.

knot_zone()
{
	cat >"$1" <<-ZONE
		\$ORIGIN example.
		\$TTL 300
		@    IN SOA ns.example. admin.example. 1 3600 600 86400 300
		@    IN NS  ns.example.
		ns   IN A   $ADDR_RCV
		www  IN A   198.18.1.80
		www  IN AAAA 2001:2::80
	ZONE
	chmod 644 "$1"
}

knot_setup()
{
	local d=$1 listen=$2 level=${3:-info} xdp=${4:-}
	mkdir -p "$d/run" "$d/storage"
	knot_zone "$d/example.zone"
	{
		cat <<-CONF
			server:
			    rundir: "$d/run"
			    listen: $listen
			    udp-workers: 1
			    tcp-workers: 1
			    background-workers: 1
		CONF
		[ -n "$xdp" ] && printf '%s\n' "xdp:" "    listen: $xdp" "    udp: on"
		cat <<-CONF
			database:
			    storage: "$d/storage"
			log:
			  - target: stderr
			    any: $level
			zone:
			  - domain: example.
			    file: "$d/example.zone"
		CONF
	} >"$d/knot.conf"
}
