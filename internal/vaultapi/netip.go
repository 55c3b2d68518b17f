package vaultapi

import (
	"net"
	"net/netip"
)

type netIPNet struct{ p netip.Prefix }

func (n *netIPNet) std() *net.IPNet {
	return &net.IPNet{IP: n.p.Addr().AsSlice(), Mask: net.CIDRMask(n.p.Bits(), n.p.Addr().BitLen())}
}
