#!/usr/bin/perl
# echo_perl.pl ADDR PORT - a Perl IO::Socket::INET UDP echo server, for
# tests/t_matrix.sh.  Runs until SIGTERM.
use strict;
use warnings;
use IO::Socket::INET;
my $s = IO::Socket::INET->new(LocalAddr => $ARGV[0], LocalPort => $ARGV[1], Proto => 'udp')
	or die "echo_perl: bind: $!\n";
my $buf;
while (defined(my $from = $s->recv($buf, 65535))) {
	$s->send($buf, 0, $from);
}
