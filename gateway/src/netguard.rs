//! Which IP addresses a delivery may reach: the address check behind the SSRF guard.
//!
//! An address is refused when it falls in a block that IANA's IPv4 and IPv6 Special-Purpose
//! Address Registries (or the address-space registries, for multicast and the reserved IPv6
//! space) mark as not globally reachable. Forms that carry an IPv4 address inside an IPv6 one
//! (IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64, 6to4) are judged by the IPv4 address
//! they lead to: `64:ff9b::a9fe:a9fe` is 169.254.169.254 on a NAT64 network.
//!
//! Where a registry block holds a few globally reachable more-specifics (192.0.0.0/24,
//! 2001::/23), the whole block is refused: none of them is a webhook receiver, and a shorter
//! table is easier to check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A block of IPv4 addresses that is not public.
struct V4Block {
    network: u32,
    prefix: u32,
    name: &'static str,
}

/// How an IPv6 block is judged.
#[derive(Clone, Copy)]
enum V6Rule {
    /// Not public.
    Refused,
    /// Carries an IPv4 address at this bit offset from the low end; that address decides.
    EmbedsV4 { shift: u32 },
}

struct V6Block {
    network: u128,
    prefix: u32,
    name: &'static str,
    rule: V6Rule,
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

/// IANA IPv4 Special-Purpose Address Registry blocks that are not globally reachable, plus
/// multicast (224.0.0.0/4) and the reserved 240.0.0.0/4 (which holds the broadcast address).
const V4_BLOCKS: &[V4Block] = &[
    V4Block {
        network: v4(0, 0, 0, 0),
        prefix: 8,
        name: "\"this network\" (0.0.0.0/8)",
    },
    V4Block {
        network: v4(10, 0, 0, 0),
        prefix: 8,
        name: "private-use (10.0.0.0/8)",
    },
    V4Block {
        network: v4(100, 64, 0, 0),
        prefix: 10,
        name: "shared address space (100.64.0.0/10)",
    },
    V4Block {
        network: v4(127, 0, 0, 0),
        prefix: 8,
        name: "loopback (127.0.0.0/8)",
    },
    V4Block {
        network: v4(169, 254, 0, 0),
        prefix: 16,
        name: "link-local (169.254.0.0/16)",
    },
    V4Block {
        network: v4(172, 16, 0, 0),
        prefix: 12,
        name: "private-use (172.16.0.0/12)",
    },
    V4Block {
        network: v4(192, 0, 0, 0),
        prefix: 24,
        name: "IETF protocol assignments (192.0.0.0/24)",
    },
    V4Block {
        network: v4(192, 0, 2, 0),
        prefix: 24,
        name: "documentation (192.0.2.0/24)",
    },
    V4Block {
        network: v4(192, 88, 99, 0),
        prefix: 24,
        name: "6to4 relay anycast (192.88.99.0/24)",
    },
    V4Block {
        network: v4(192, 168, 0, 0),
        prefix: 16,
        name: "private-use (192.168.0.0/16)",
    },
    V4Block {
        network: v4(198, 18, 0, 0),
        prefix: 15,
        name: "benchmarking (198.18.0.0/15)",
    },
    V4Block {
        network: v4(198, 51, 100, 0),
        prefix: 24,
        name: "documentation (198.51.100.0/24)",
    },
    V4Block {
        network: v4(203, 0, 113, 0),
        prefix: 24,
        name: "documentation (203.0.113.0/24)",
    },
    V4Block {
        network: v4(224, 0, 0, 0),
        prefix: 4,
        name: "multicast (224.0.0.0/4)",
    },
    V4Block {
        network: v4(240, 0, 0, 0),
        prefix: 4,
        name: "reserved (240.0.0.0/4)",
    },
];

const fn v6(segments: [u16; 8]) -> u128 {
    let mut value = 0u128;
    let mut index = 0;
    while index < 8 {
        value = (value << 16) | segments[index] as u128;
        index += 1;
    }
    value
}

/// IANA IPv6 Special-Purpose Address Registry blocks, the deprecated site-local and
/// IPv4-compatible forms, and multicast. The first block that matches decides, so the
/// embedded-IPv4 forms come before the blocks that contain them. Anything outside the global
/// unicast space 2000::/3 that no block names is refused too ([`GLOBAL_UNICAST`]).
const V6_BLOCKS: &[V6Block] = &[
    V6Block {
        network: 0,
        prefix: 128,
        name: "unspecified (::/128)",
        rule: V6Rule::Refused,
    },
    V6Block {
        network: 1,
        prefix: 128,
        name: "loopback (::1/128)",
        rule: V6Rule::Refused,
    },
    V6Block {
        network: v6([0, 0, 0, 0, 0, 0xffff, 0, 0]),
        prefix: 96,
        name: "IPv4-mapped (::ffff:0:0/96)",
        rule: V6Rule::EmbedsV4 { shift: 0 },
    },
    V6Block {
        network: v6([0, 0, 0, 0, 0xffff, 0, 0, 0]),
        prefix: 96,
        name: "IPv4-translated (::ffff:0:0:0/96)",
        rule: V6Rule::EmbedsV4 { shift: 0 },
    },
    V6Block {
        network: 0,
        prefix: 96,
        name: "IPv4-compatible (::/96)",
        rule: V6Rule::EmbedsV4 { shift: 0 },
    },
    V6Block {
        network: v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]),
        prefix: 96,
        name: "NAT64 (64:ff9b::/96)",
        rule: V6Rule::EmbedsV4 { shift: 0 },
    },
    V6Block {
        network: v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        prefix: 48,
        name: "local-use IPv4/IPv6 translation (64:ff9b:1::/48)",
        rule: V6Rule::Refused,
    },
    V6Block {
        network: v6([0x100, 0, 0, 0, 0, 0, 0, 0]),
        prefix: 64,
        name: "discard-only (100::/64)",
        rule: V6Rule::Refused,
    },
    V6Block {
        network: v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]),
        prefix: 32,
        name: "documentation (2001:db8::/32)",
        rule: V6Rule::Refused,
    },
    V6Block {
        // Teredo (2001::/32, whose IPv4 address is obscured), benchmarking, ORCHID and the rest.
        network: v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        prefix: 23,
        name: "IETF protocol assignments (2001::/23)",
        rule: V6Rule::Refused,
    },
    V6Block {
        network: v6([0x2002, 0, 0, 0, 0, 0, 0, 0]),
        prefix: 16,
        name: "6to4 (2002::/16)",
        rule: V6Rule::EmbedsV4 { shift: 80 },
    },
    V6Block {
        network: v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]),
        prefix: 20,
        name: "documentation (3fff::/20)",
        rule: V6Rule::Refused,
    },
    V6Block {
        network: v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]),
        prefix: 16,
        name: "segment routing SIDs (5f00::/16)",
        rule: V6Rule::Refused,
    },
    V6Block {
        network: v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]),
        prefix: 7,
        name: "unique-local (fc00::/7)",
        rule: V6Rule::Refused,
    },
    V6Block {
        network: v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]),
        prefix: 10,
        name: "link-local (fe80::/10)",
        rule: V6Rule::Refused,
    },
    V6Block {
        network: v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]),
        prefix: 10,
        name: "site-local (fec0::/10)",
        rule: V6Rule::Refused,
    },
    V6Block {
        network: v6([0xff00, 0, 0, 0, 0, 0, 0, 0]),
        prefix: 8,
        name: "multicast (ff00::/8)",
        rule: V6Rule::Refused,
    },
];

/// The global unicast space; the rest of the IPv6 space is reserved or special.
const GLOBAL_UNICAST: (u128, u32) = (v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3);
const OUTSIDE_GLOBAL_UNICAST: &str = "outside global unicast (2000::/3)";

/// Whether an address is one a public webhook must never reach (see the module docs).
pub fn is_private(address: IpAddr) -> bool {
    special_purpose_block(address).is_some()
}

/// The special-purpose block that makes `address` not public, by name; `None` for a public
/// address. For an embedded IPv4 address, the block of that address.
pub fn special_purpose_block(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(address) => v4_block(address),
        IpAddr::V6(address) => v6_block(address),
    }
}

fn v4_block(address: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(address);
    V4_BLOCKS
        .iter()
        .find(|block| bits >> (32 - block.prefix) == block.network >> (32 - block.prefix))
        .map(|block| block.name)
}

fn v6_block(address: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(address);
    let in_block = |network: u128, prefix: u32| {
        // A shift by 128 is out of range for u128; a /0 would contain everything.
        prefix == 0 || bits >> (128 - prefix) == network >> (128 - prefix)
    };
    match V6_BLOCKS
        .iter()
        .find(|block| in_block(block.network, block.prefix))
    {
        Some(block) => match block.rule {
            V6Rule::Refused => Some(block.name),
            V6Rule::EmbedsV4 { shift } => v4_block(Ipv4Addr::from((bits >> shift) as u32)),
        },
        None if !in_block(GLOBAL_UNICAST.0, GLOBAL_UNICAST.1) => Some(OUTSIDE_GLOBAL_UNICAST),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_of(address: &str) -> Option<&'static str> {
        special_purpose_block(address.parse().unwrap())
    }

    #[test]
    fn every_ipv4_block_is_refused_from_its_first_to_its_last_address() {
        for block in V4_BLOCKS {
            let size = 1u64 << (32 - block.prefix);
            let first = Ipv4Addr::from(block.network);
            let last = Ipv4Addr::from((block.network as u64 + size - 1) as u32);
            for address in [first, last] {
                assert_eq!(v4_block(address), Some(block.name), "{address}");
            }
        }
    }

    #[test]
    fn ipv4_ranges_by_name() {
        for (address, block) in [
            ("0.1.2.3", "\"this network\" (0.0.0.0/8)"),
            ("10.1.2.3", "private-use (10.0.0.0/8)"),
            ("100.64.0.1", "shared address space (100.64.0.0/10)"),
            ("100.127.255.255", "shared address space (100.64.0.0/10)"),
            ("127.0.0.1", "loopback (127.0.0.0/8)"),
            ("169.254.169.254", "link-local (169.254.0.0/16)"),
            ("172.31.255.255", "private-use (172.16.0.0/12)"),
            ("192.0.0.170", "IETF protocol assignments (192.0.0.0/24)"),
            ("192.0.2.1", "documentation (192.0.2.0/24)"),
            ("192.88.99.1", "6to4 relay anycast (192.88.99.0/24)"),
            ("192.168.1.1", "private-use (192.168.0.0/16)"),
            ("198.18.0.1", "benchmarking (198.18.0.0/15)"),
            ("198.19.255.255", "benchmarking (198.18.0.0/15)"),
            ("198.51.100.7", "documentation (198.51.100.0/24)"),
            ("203.0.113.7", "documentation (203.0.113.0/24)"),
            ("224.0.0.251", "multicast (224.0.0.0/4)"),
            ("239.255.255.250", "multicast (224.0.0.0/4)"),
            ("240.0.0.1", "reserved (240.0.0.0/4)"),
            ("255.255.255.255", "reserved (240.0.0.0/4)"),
        ] {
            assert_eq!(block_of(address), Some(block), "{address}");
        }
    }

    #[test]
    fn ipv4_neighbours_of_the_blocks_are_public() {
        for address in [
            "1.0.0.0",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.0",
            "192.0.3.0",
            "192.88.98.255",
            "192.88.100.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "198.51.99.255",
            "198.51.101.0",
            "203.0.112.255",
            "203.0.114.0",
            "223.255.255.255",
            "8.8.8.8",
            "162.159.128.233",
        ] {
            assert_eq!(block_of(address), None, "{address}");
        }
    }

    #[test]
    fn ipv6_ranges_by_name() {
        for (address, block) in [
            ("::", "unspecified (::/128)"),
            ("::1", "loopback (::1/128)"),
            (
                "64:ff9b:1::1",
                "local-use IPv4/IPv6 translation (64:ff9b:1::/48)",
            ),
            ("100::1", "discard-only (100::/64)"),
            ("2001::1", "IETF protocol assignments (2001::/23)"),
            ("2001:2::1", "IETF protocol assignments (2001::/23)"),
            ("2001:1ff:ffff::1", "IETF protocol assignments (2001::/23)"),
            ("2001:db8::1", "documentation (2001:db8::/32)"),
            ("3fff::1", "documentation (3fff::/20)"),
            ("3fff:fff::1", "documentation (3fff::/20)"),
            ("5f00::1", "segment routing SIDs (5f00::/16)"),
            ("fc00::1", "unique-local (fc00::/7)"),
            ("fd12:3456::1", "unique-local (fc00::/7)"),
            ("fe80::1", "link-local (fe80::/10)"),
            ("febf::1", "link-local (fe80::/10)"),
            ("fec0::1", "site-local (fec0::/10)"),
            ("feff::1", "site-local (fec0::/10)"),
            ("ff02::1", "multicast (ff00::/8)"),
            ("ff05::1:3", "multicast (ff00::/8)"),
            ("1::1", OUTSIDE_GLOBAL_UNICAST),
            ("4000::1", OUTSIDE_GLOBAL_UNICAST),
            ("e000::1", OUTSIDE_GLOBAL_UNICAST),
        ] {
            assert_eq!(block_of(address), Some(block), "{address}");
        }
    }

    #[test]
    fn embedded_ipv4_addresses_are_judged_by_the_address_they_lead_to() {
        for (address, block) in [
            // IPv4-mapped, IPv4-translated, IPv4-compatible.
            ("::ffff:127.0.0.1", "loopback (127.0.0.0/8)"),
            ("::ffff:10.0.0.1", "private-use (10.0.0.0/8)"),
            ("::ffff:0:127.0.0.1", "loopback (127.0.0.0/8)"),
            ("::ffff:0:169.254.169.254", "link-local (169.254.0.0/16)"),
            ("::127.0.0.1", "loopback (127.0.0.0/8)"),
            ("::10.1.2.3", "private-use (10.0.0.0/8)"),
            ("::0.0.0.2", "\"this network\" (0.0.0.0/8)"),
            // NAT64: the cloud metadata address on a NAT64 network.
            ("64:ff9b::a9fe:a9fe", "link-local (169.254.0.0/16)"),
            ("64:ff9b::127.0.0.1", "loopback (127.0.0.0/8)"),
            ("64:ff9b::192.168.0.1", "private-use (192.168.0.0/16)"),
            // 6to4: the IPv4 address sits in bits 16..48.
            ("2002:7f00:1::1", "loopback (127.0.0.0/8)"),
            ("2002:a00:1::", "private-use (10.0.0.0/8)"),
            ("2002:a9fe:a9fe::1", "link-local (169.254.0.0/16)"),
            ("2002:c0a8:101::", "private-use (192.168.0.0/16)"),
        ] {
            assert_eq!(block_of(address), Some(block), "{address}");
        }
        // The same forms around public addresses lead to public addresses.
        for address in [
            "::ffff:8.8.8.8",
            "::ffff:0:8.8.8.8",
            "::8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
        ] {
            assert_eq!(block_of(address), None, "{address}");
        }
    }

    #[test]
    fn public_ipv6_addresses_pass() {
        for address in [
            "2606:4700::6810:85e5",
            "2a00:1450:4001:80b::200e",
            "2001:200::1",
            "2620:4f:8000::1",
            "3fff:1000::1",
            "2c0f:fb50:4003::1",
        ] {
            assert_eq!(block_of(address), None, "{address}");
        }
    }
}
