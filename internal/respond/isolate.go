package respond

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// IsolateTable is the nftables table (family inet) that isolation creates
// in the container's network namespace.
const IsolateTable = "vigil_isolate"

// ErrHostNetwork means the target shares the host's network namespace:
// isolating it would cut the host.
var ErrHostNetwork = errors.New("target shares the host's network namespace")

// Allow is one allow-list entry: a prefix and an optional port (0: any).
type Allow struct {
	Prefix netip.Prefix
	Port   uint16
}

func (a Allow) String() string {
	if a.Port == 0 {
		return a.Prefix.String()
	}
	return a.Prefix.String() + ":" + strconv.Itoa(int(a.Port))
}

// ParseAllow parses CIDR[:PORT] (an address alone is a /32 or /128;
// IPv6 with a port is written [CIDR]:PORT).
func ParseAllow(s string) (Allow, error) {
	var a Allow
	addr, port := s, ""
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "]")
		if i < 0 {
			return a, fmt.Errorf("allow %q: missing ]", s)
		}
		addr, port = s[1:i], strings.TrimPrefix(s[i+1:], ":")
	} else if strings.Count(s, ":") == 1 {
		addr, port, _ = strings.Cut(s, ":")
	}
	if port != "" {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || p == 0 {
			return a, fmt.Errorf("allow %q: bad port %q", s, port)
		}
		a.Port = uint16(p)
	}
	if strings.Contains(addr, "/") {
		pfx, err := netip.ParsePrefix(addr)
		if err != nil {
			return a, fmt.Errorf("allow %q: %w", s, err)
		}
		a.Prefix = pfx.Masked()
	} else {
		ip, err := netip.ParseAddr(addr)
		if err != nil {
			return a, fmt.Errorf("allow %q: %w", s, err)
		}
		a.Prefix = netip.PrefixFrom(ip, ip.BitLen())
	}
	return a, nil
}

// netns opens the target's network namespace and refuses the host's.
func netns(procRoot string, pid int) (*os.File, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	p := filepath.Join(procRoot, strconv.Itoa(pid), "ns", "net")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("network namespace of pid %d: %w", pid, err)
	}
	var st, self unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("network namespace of pid %d: %w", pid, err)
	}
	if err := unix.Stat("/proc/self/ns/net", &self); err != nil {
		f.Close()
		return nil, fmt.Errorf("own network namespace: %w", err)
	}
	if st.Ino == self.Ino && st.Dev == self.Dev {
		f.Close()
		return nil, fmt.Errorf("pid %d: %w", pid, ErrHostNetwork)
	}
	return f, nil
}

// Isolate drops every packet in and out of the container except loopback
// and the allow-list, with an nftables table inside the container's own
// network namespace, replacing an earlier isolation atomically. Established
// connections are cut too.
func (r *Responder) Isolate(ctx context.Context, spec string, allow []Allow) (*Outcome, error) {
	return r.run(ActionIsolate, spec, func(o *Outcome) error {
		t, err := r.container(ctx, spec, o)
		if err != nil {
			return err
		}
		ns, err := netns(t.ProcRoot(), t.PID)
		if err != nil {
			return err
		}
		defer ns.Close()
		o.Method = "nftables table inet " + IsolateTable + " in the container's network namespace"
		var al []string
		for _, a := range allow {
			al = append(al, a.String())
		}
		o.Detail = "allow: " + strings.Join(al, ",")
		return applyIsolation(int(ns.Fd()), allow)
	})
}

// Unisolate removes the isolation table; a container that is not isolated
// is not an error.
func (r *Responder) Unisolate(ctx context.Context, spec string) (*Outcome, error) {
	return r.run(ActionUnisolate, spec, func(o *Outcome) error {
		t, err := r.container(ctx, spec, o)
		if err != nil {
			return err
		}
		ns, err := netns(t.ProcRoot(), t.PID)
		if err != nil {
			return err
		}
		defer ns.Close()
		o.Method = "nftables table inet " + IsolateTable + " removed"
		c, err := nftables.New(nftables.WithNetNSFd(int(ns.Fd())))
		if err != nil {
			return fmt.Errorf("nftables: %w", err)
		}
		found, err := hasTable(c)
		if err != nil {
			return err
		}
		if !found {
			o.Detail = "was not isolated"
			return nil
		}
		c.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: IsolateTable})
		if err := c.Flush(); err != nil {
			return fmt.Errorf("nftables delete table: %w", err)
		}
		return nil
	})
}

func hasTable(c *nftables.Conn) (bool, error) {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, fmt.Errorf("nftables list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == IsolateTable {
			return true, nil
		}
	}
	return false, nil
}

// Isolated reports whether the network namespace of pid has the
// isolation table.
func Isolated(procRoot string, pid int) (bool, error) {
	ns, err := netns(procRoot, pid)
	if err != nil {
		return false, err
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns.Fd())))
	if err != nil {
		return false, fmt.Errorf("nftables: %w", err)
	}
	return hasTable(c)
}

func applyIsolation(nsfd int, allow []Allow) error {
	c, err := nftables.New(nftables.WithNetNSFd(nsfd))
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	found, err := hasTable(c)
	if err != nil {
		return err
	}
	tbl := &nftables.Table{Family: nftables.TableFamilyINet, Name: IsolateTable}
	if found {
		c.DelTable(tbl) // same batch: the swap is atomic
	}
	c.AddTable(tbl)
	drop := nftables.ChainPolicyDrop
	prio := nftables.ChainPriorityRef(-300) // before any filter of the container's own
	in := c.AddChain(&nftables.Chain{Name: "input", Table: tbl, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: prio, Policy: &drop})
	out := c.AddChain(&nftables.Chain{Name: "output", Table: tbl, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: prio, Policy: &drop})
	c.AddChain(&nftables.Chain{Name: "forward", Table: tbl, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: prio, Policy: &drop})
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	c.AddRule(&nftables.Rule{Table: tbl, Chain: in, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("lo")}, accept}})
	c.AddRule(&nftables.Rule{Table: tbl, Chain: out, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("lo")}, accept}})
	for _, a := range allow {
		for _, proto := range protos(a) {
			c.AddRule(&nftables.Rule{Table: tbl, Chain: in, Exprs: match(a, proto, true)})
			c.AddRule(&nftables.Rule{Table: tbl, Chain: out, Exprs: match(a, proto, false)})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables apply isolation: %w", err)
	}
	return nil
}

func ifname(n string) []byte {
	b := make([]byte, 16)
	copy(b, n)
	return b
}

// protos: an entry with a port gives one rule for TCP and one for UDP.
func protos(a Allow) []byte {
	if a.Port == 0 {
		return []byte{0}
	}
	return []byte{unix.IPPROTO_TCP, unix.IPPROTO_UDP}
}

// match builds: nfproto == family, addr & mask == prefix, [l4proto ==
// proto, port == a.Port], accept. Incoming packets match on the source,
// outgoing on the destination.
func match(a Allow, proto byte, incoming bool) []expr.Any {
	v4 := a.Prefix.Addr().Is4()
	fam, off, n := byte(unix.NFPROTO_IPV6), uint32(8), uint32(16)
	if v4 {
		fam, off, n = unix.NFPROTO_IPV4, 12, 4
	}
	if !incoming {
		off += n
	}
	mask := net.CIDRMask(a.Prefix.Bits(), int(n*8))
	ex := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: n, Mask: mask, Xor: make([]byte, n)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.Prefix.Addr().AsSlice()},
	}
	if proto != 0 {
		portOff := uint32(2) // destination port of an outgoing packet
		if incoming {
			portOff = 0 // source port of an incoming one
		}
		port := make([]byte, 2)
		binary.BigEndian.PutUint16(port, a.Port)
		ex = append(ex,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: portOff, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: port},
		)
	}
	return append(ex, &expr.Verdict{Kind: expr.VerdictAccept})
}
