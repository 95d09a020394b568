package fetch

import (
	"net/netip"
	"strings"
	"testing"
)

func TestBlockedReason(t *testing.T) {
	tests := []struct {
		addr string
		want string // substring of the reason; "" means allowed
	}{
		// IPv4 ranges.
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "this network"},
		{"10.0.0.1", "private"},
		{"10.255.255.255", "private"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"127.0.0.1", "loopback"},
		{"127.0.0.2", "loopback"},
		{"127.255.255.254", "loopback"},
		{"169.254.169.254", "link-local"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.0.0.1", "IETF protocol assignments"},
		{"192.0.2.1", "documentation"},
		{"192.168.1.1", "private"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.9", "documentation"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "broadcast"},
		// Public IPv4, including neighbours of blocked ranges.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.0.1.1", ""},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"223.255.255.255", ""},
		{"185.22.66.10", ""},
		// IPv6 ranges.
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"::7f00:1", "IPv4-compatible"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf:ffff::1", "link-local"},
		{"fc00::1", "unique-local"},
		{"fd12:3456::1", "unique-local"},
		{"fec0::1", "site-local"},
		{"ff02::1", "multicast"},
		{"ff05::2", "multicast"},
		{"2001:db8::1", "documentation"},
		{"100::1", "discard-only"},
		{"64:ff9b:1::a00:1", "local-use NAT64"},
		// IPv4-mapped IPv6 forms of every IPv4 range.
		{"::ffff:0.0.0.0", "unspecified, IPv4-mapped"},
		{"::ffff:0.1.2.3", "this network"},
		{"::ffff:10.0.0.1", "private, IPv4-mapped"},
		{"::ffff:100.64.0.1", "carrier-grade NAT"},
		{"::ffff:127.0.0.1", "loopback, IPv4-mapped"},
		{"::ffff:7f00:1", "loopback"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:172.16.0.1", "private"},
		{"::ffff:192.0.0.1", "IETF"},
		{"::ffff:192.168.0.1", "private"},
		{"::ffff:198.18.0.1", "benchmarking"},
		{"::ffff:224.0.0.1", "multicast"},
		{"::ffff:240.0.0.1", "reserved"},
		{"::ffff:255.255.255.255", "broadcast"},
		{"::ffff:8.8.8.8", ""},
		// NAT64 well-known prefix: judged by the embedded IPv4 address.
		{"64:ff9b::127.0.0.1", "loopback, via NAT64"},
		{"64:ff9b::a00:1", "private, via NAT64"},
		{"64:ff9b::169.254.169.254", "link-local, via NAT64"},
		{"64:ff9b::100.64.0.1", "carrier-grade NAT, via NAT64"},
		{"64:ff9b::0.0.0.0", "unspecified, via NAT64"},
		{"64:ff9b::8.8.8.8", ""},
		// 6to4 and Teredo embeddings.
		{"2002:7f00:1::", "loopback, via 6to4"},
		{"2002:c0a8:101::1", "private, via 6to4"},
		{"2002:808:808::1", ""},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback, via Teredo"}, // client 127.0.0.1
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", ""},                     // client 8.8.8.8
		// Public IPv6.
		{"2a00:1450:4001:80b::200e", ""},
		{"2606:4700:4700::1111", ""},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.addr)
		got := blockedReason(ip)
		if tt.want == "" {
			if got != "" {
				t.Errorf("blockedReason(%s) = %q, want allowed", tt.addr, got)
			}
			continue
		}
		if got == "" || !strings.Contains(got, tt.want) {
			t.Errorf("blockedReason(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	if got := blockedReason(netip.Addr{}); got == "" {
		t.Errorf("blockedReason(zero Addr) allowed it")
	}
}

func TestCheckDialAddr(t *testing.T) {
	tests := []struct {
		address string
		wantErr string
	}{
		{"127.0.0.1:80", "address 127.0.0.1 is not allowed (loopback)"},
		{"[::1]:443", "address ::1 is not allowed (loopback)"},
		{"[::ffff:127.0.0.1]:80", "address ::ffff:127.0.0.1 is not allowed (loopback, IPv4-mapped)"},
		{"[fe80::1%lo]:80", "link-local"},
		{"garbage", "unrecognised address"},
		{"8.8.8.8:443", ""},
	}
	for _, tt := range tests {
		err := checkDialAddr("tcp", tt.address, nil)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("checkDialAddr(%s) = %v, want nil", tt.address, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("checkDialAddr(%s) = %v, want %q", tt.address, err, tt.wantErr)
		}
	}
}
