package fetch

import (
	"net/netip"
)

// blockedRange is an address range that an image URL must not reach.
type blockedRange struct {
	prefix netip.Prefix
	reason string
}

var blockedV4 = []blockedRange{
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("0.0.0.0/32"), "unspecified"},
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
}

var blockedV6 = []blockedRange{
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "unique-local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	nat64Prefix  = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour    = netip.MustParsePrefix("2002::/16")
	teredoPrefix = netip.MustParsePrefix("2001::/32")
)

// blockedReason reports why ip must not be connected to, or "" if it is a
// public address. IPv4 addresses embedded in IPv6 ones (IPv4-mapped, NAT64,
// 6to4, Teredo) are judged by the IPv4 address they lead to.
func blockedReason(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid address"
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		if r := blockedReason(ip.Unmap()); r != "" {
			return r + ", IPv4-mapped"
		}
		return ""
	}
	if ip.Is4() {
		for _, b := range blockedV4 {
			if b.prefix.Contains(ip) {
				return b.reason
			}
		}
		return ""
	}
	for _, b := range blockedV6 {
		if b.prefix.Contains(ip) {
			return b.reason
		}
	}
	a := ip.As16()
	var embedded netip.Addr
	var via string
	switch {
	case nat64Prefix.Contains(ip):
		embedded, via = netip.AddrFrom4([4]byte{a[12], a[13], a[14], a[15]}), "NAT64"
	case sixToFour.Contains(ip):
		embedded, via = netip.AddrFrom4([4]byte{a[2], a[3], a[4], a[5]}), "6to4"
	case teredoPrefix.Contains(ip):
		// The client address is stored inverted in the last 32 bits.
		embedded, via = netip.AddrFrom4([4]byte{^a[12], ^a[13], ^a[14], ^a[15]}), "Teredo"
	default:
		return ""
	}
	if r := blockedReason(embedded); r != "" {
		return r + ", via " + via
	}
	return ""
}
