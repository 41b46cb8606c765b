# The comparisons of count-check.sh (which prepares the files it reads from
# a profile, a -stats file, objdump and QEMU): prints one line per
# disagreement and exits 1, or prints the figures and exits 0.
# Usage: perl count-check.pl DIR NEVER_IDENT ALWAYS_IDENT
use strict;
use warnings;

my ($dir, $never_s, $always_s) = @ARGV;
my %never  = map { $_ => 1 } split ' ', $never_s;
my %always = map { $_ => 1 } split ' ', $always_s;
my @bad;
sub bad { push @bad, sprintf(shift, @_) }
sub lines { my $f = "$dir/$_[0]"; open(my $h, '<', $f) or die "count-check: $f: $!\n"; my @l = <$h>; chomp @l; @l }

my @frags;    # [id, lin, execs, insns, len, mix ident, inline, callout, start in guest.bin]
my $at = 0;
for (lines('frags')) {
	my @f = split ' ';
	shift @f;
	push @f, $at;
	$at += $f[4] + 15;                     # the nops count-check.sh puts after each
	push @frags, \@f;
}
my %map;      # id -> [[offset, class], ...]
for (lines('map')) {
	my (undef, $id, $off, $cls) = split ' ';
	push @{ $map{$id} }, [$off, $cls];
}
my (undef, $o_frags, $o_insns, $o_len, $o_execs, $o_id, $o_in, $o_co) = split ' ', (lines('other'))[0];
my %stat = map { my (undef, $k, $v) = split ' '; ($k => $v) } lines('stats');
my %dis;      # offset in guest.bin -> objdump's text
my @dis_at;
for (lines('dis')) {
	my (undef, $off, $text) = split ' ', $_, 3;
	$dis{$off} = $text;
	push @dis_at, $off;
}

# The mnemonic without prefixes, and whether its operands are registers and
# immediates only (no memory, no segment/control/debug register).
my %prefix = map { $_ => 1 } qw(rep repz repe repnz repne lock data16 data32 addr16 addr32 cs ds es fs gs ss notrack bnd);
my $gpr = qr/^%(?:e?[abcd]x|[abcd][lh]|e?[sd]i|e?[sb]p)$/;
sub insn_kind {
	my @w = split ' ', $_[0];
	my $lock = 0;
	while (@w > 1 && $prefix{ $w[0] }) { $lock = 1 if $w[0] eq 'lock'; shift @w }
	my $m = shift(@w) // '';
	$m =~ s/,p[nt]$//;                     # branch hints
	my $ops = join ' ', @w;
	$ops =~ s/\s*[#<].*$//;                # objdump's comments and symbols
	my $plain = 1;
	for my $o (split /,/, $ops) {
		$plain = 0 unless $o =~ /^\$/ || $o =~ $gpr;
	}
	$plain = 0 if $lock;                   # on registers: #UD, the monitor's
	my $name = $m;
	$name =~ s/[bwlq]$// if !$never{$name} && !$always{$name};
	return ($m, $name, $plain);
}

# Each fragment: objdump finds the instructions the translator recorded,
# where it recorded them, and their class is one the instruction allows.
my ($t_insns, $t_len, %t_cls, %x_cls, $t_exec) = (0, 0);
my ($next_dis, %vmx_at, %rep_at) = (0);
for my $f (@frags) {
	my ($id, $lin, $execs, $insns, $len, $mi, $mn, $mc, $start) = @$f;
	my @mine;
	$next_dis++ while $next_dis < @dis_at && $dis_at[$next_dis] < $start;
	push @mine, $dis_at[$next_dis++] - $start while $next_dis < @dis_at && $dis_at[$next_dis] < $start + $len;
	my @m = @{ $map{$id} // [] };
	bad("fragment %d at %08x: objdump decodes %d instructions, the profile says %d", $id, $lin, scalar @mine, $insns)
		if @mine != $insns;
	bad("fragment %d at %08x: %d map entries for %d instructions", $id, $lin, scalar @m, $insns) if @m != $insns;
	bad("fragment %d at %08x: mix %d+%d+%d for %d instructions", $id, $lin, $mi, $mn, $mc, $insns)
		if $mi + $mn + $mc != $insns;
	my %c;
	for my $e (@m) {
		my ($off, $cls) = @$e;
		$c{$cls}++;
		$x_cls{$cls} += $execs;
		$vmx_at{ $lin + $off } += $execs;
		my $text = $dis{ $start + $off };
		if (!defined $text) {
			bad("fragment %d: no instruction starts at guest offset %d (%08x) for objdump", $id, $off, $lin + $off);
			next;
		}
		my ($m, $name, $plain) = insn_kind($text);
		$rep_at{ $lin + $off } = 1 if $text =~ /^rep/;
		bad("%08x '%s' is sensitive or a branch, translated ident", $lin + $off, $text) if $never{$name} && $cls eq 'ident';
		bad("%08x '%s' needs no monitor, translated %s", $lin + $off, $text, $cls)
			if $cls ne 'ident' && (($always{$name} && $plain) || $name eq 'lea');
	}
	bad("fragment %d at %08x: map classes %d/%d/%d, mix %d/%d/%d", $id, $lin, $c{ident} // 0, $c{inline} // 0,
	    $c{callout} // 0, $mi, $mn, $mc)
		if ($c{ident} // 0) != $mi || ($c{inline} // 0) != $mn || ($c{callout} // 0) != $mc;
	$t_insns += @mine;
	$t_len += $len;
	$t_cls{ident} += $mi; $t_cls{inline} += $mn; $t_cls{callout} += $mc;
	$t_exec += $execs * $insns;
}

# The totals against the counters of -stats (fragments summed in "other"
# were not decoded: their figures are added as the profile gives them).
sub want { my ($k, $mine) = @_; my $v = $stat{$k};
	   bad("-stats %s is %s, the fragments decoded give %d", $k, $v // 'missing', $mine) if !defined $v || $v != $mine }
want('bt.tu.translated', @frags + $o_frags);
want('bt.insn.translated', $t_insns + $o_insns);
want('bt.guest.bytes', $t_len + $o_len);
want('bt.insn.ident', $t_cls{ident} + $o_id);
want('bt.insn.inline', $t_cls{inline} + $o_in);
want('bt.insn.callout', $t_cls{callout} + $o_co);

# Executions at each guest address against QEMU's.
my $q_total = 0;
my @q = lines('q');
if (@q) {
	my (%q, $last);
	for (@q) {
		my ($k, $a, $n, $runs) = split ' ';
		next if $k eq 'L' && ($last = $a);
		$n = $runs if $rep_at{$a};          # each iteration was a block
		$q{$a} = $n;
		$q_total += $n;
	}
	# The guest stopped at $last: the last entry into the fragment that
	# holds it went no further, while its counter counted all of it.
	if (defined $last) {
		for my $f (reverse @frags) {
			my ($id, $lin, $execs) = @$f;
			next unless $execs && grep { $lin + $_->[0] == $last } @{ $map{$id} // [] };
			for my $e (@{ $map{$id} }) {
				next unless $lin + $e->[0] > $last;
				$vmx_at{ $lin + $e->[0] }--;
				$x_cls{ $e->[1] }--;
				$t_exec--;
			}
			last;
		}
	}
	my $n = 0;
	my %all = (%q, %vmx_at);
	for my $a (sort { $a <=> $b } keys %all) {
		my ($qv, $vv) = ($q{$a} // 0, $vmx_at{$a} // 0);
		next if $qv == $vv;
		bad("%08x executed %d times under QEMU, %d by the profile's counts", $a, $qv, $vv) if $n++ < 10;
	}
	bad("... and %d more addresses", $n - 10) if $n > 10;
	bad("%d instructions executed under QEMU, %d by the profile's counts", $q_total, $t_exec) if $q_total != $t_exec;
}

if (@bad) {
	print "count-check: $_\n" for @bad;
	exit 1;
}
printf "count-check: %d fragments, %d instructions decoded by objdump (ident %d, inline %d, callout %d) as -stats counts them; " .
       "%d executed (ident %d, inline %d, callout %d)%s\n",
       scalar @frags, $t_insns, $t_cls{ident}, $t_cls{inline}, $t_cls{callout}, $t_exec,
       $x_cls{ident} // 0, $x_cls{inline} // 0, $x_cls{callout} // 0,
       @q ? sprintf(", as under QEMU at each of %d addresses", scalar(grep { !/^L/ } @q)) : '';
exit 0;
