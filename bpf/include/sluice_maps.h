/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every key and value struct of sluice's pinned maps, the ring-buffer event
 * and the enums they carry. src/datapath/ebpf/layout.ts mirrors this file;
 * test/ebpf/layout-btf.test.ts compares both against the BTF of the built
 * object, so a change here without a matching change there fails the tests.
 *
 * Conventions:
 * - Fields named in network byte order are typed __be16/__be32; everything
 *   else is host order.
 * - Every struct has explicit pad fields and no implicit padding; pad fields
 *   must be zero (hash keys are compared bytewise).
 * - Addresses are 16 bytes; an IPv4 address fills the first 4 bytes and the
 *   other 12 are zero. family is 4 or 6 (enum sluice_family).
 */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include <linux/types.h>

enum sluice_family {
	SLUICE_FAMILY_V4 = 4,
	SLUICE_FAMILY_V6 = 6,
};

/* As seen by the pod: INGRESS = packets entering the pod. */
enum sluice_direction {
	SLUICE_DIR_INGRESS = 0,
	SLUICE_DIR_EGRESS = 1,
};

enum sluice_verdict {
	SLUICE_VERDICT_ALLOW = 0,
	SLUICE_VERDICT_DENY = 1,
};

enum sluice_reason {
	SLUICE_REASON_NONE = 0,
	SLUICE_REASON_NOT_ISOLATED = 1, /* allow: direction not isolated */
	SLUICE_REASON_POLICY = 2, /* allow: a policy tuple matched */
	SLUICE_REASON_NO_POLICY = 3, /* deny: isolated, no tuple matched */
	SLUICE_REASON_CT_ESTABLISHED = 4, /* allow: flow already in ct */
	SLUICE_REASON_CT_REPLY = 5, /* allow: reverse flow in ct */
	SLUICE_REASON_HOST = 6, /* allow: from a node address (ingress), no tuple matched */
	SLUICE_REASON_ENDPOINT_UNKNOWN = 7, /* local address not in endpoints */
	SLUICE_REASON_FRAGMENT = 8, /* allow: first fragment was allowed */
	SLUICE_REASON_FRAGMENT_UNKNOWN = 9, /* deny: no allowed first fragment */
	SLUICE_REASON_MALFORMED = 10, /* deny: truncated or bad headers */
	SLUICE_REASON_REVALIDATE_DENY = 11, /* deny: ct flow no longer allowed */
	SLUICE_REASON_SERVICE_DEFERRED = 12, /* allow: to a service VIP, egress judged after DNAT */
	SLUICE_REASON_CT_RELATED = 13, /* allow: ICMP error about a flow in ct */
	SLUICE_REASON_WOULD_DENY = 14, /* allow: audited direction, no tuple matched (would deny) */
};

enum sluice_endpoint_flags {
	SLUICE_EP_INGRESS_ISOLATED = 1 << 0,
	SLUICE_EP_EGRESS_ISOLATED = 1 << 1,
	/*
	 * The rule set of that direction has rows in sluice_policy (port
	 * ranges, protocol ANY or PORTLESS); without the flag the trie is not
	 * looked up.
	 */
	SLUICE_EP_INGRESS_TRIE = 1 << 2,
	SLUICE_EP_EGRESS_TRIE = 1 << 3,
	/*
	 * The rule set of that direction has tuples of SLUICE_PEER_CLASS_ANY
	 * (rules without from/to); without the flag they are not looked up.
	 */
	SLUICE_EP_INGRESS_ANY_PEER = 1 << 4,
	SLUICE_EP_EGRESS_ANY_PEER = 1 << 5,
	/*
	 * Isolated in that direction by audited policies only: what the rule
	 * set does not allow passes with reason WOULD_DENY, counted in
	 * sluice_would_deny and reported like a deny.
	 */
	SLUICE_EP_INGRESS_AUDIT = 1 << 6,
	SLUICE_EP_EGRESS_AUDIT = 1 << 7,
};

enum sluice_policy_flags {
	/* Informational: the tuple is protocol ANY (prefix cut before protocol). */
	SLUICE_POLICY_ANY_PROTOCOL = 1 << 0,
	/* Informational: the tuple is PORTLESS (protocol SLUICE_POLICY_PROTO_PORTLESS). */
	SLUICE_POLICY_PORTLESS = 1 << 1,
};

enum sluice_ct_flags {
	SLUICE_CT_SEEN_REPLY = 1 << 0,
	SLUICE_CT_FIN_FWD = 1 << 1, /* FIN seen in the original direction */
	SLUICE_CT_FIN_REV = 1 << 2, /* FIN seen in the reply direction */
	SLUICE_CT_RST = 1 << 3,
	/* To a service VIP: never re-judged here (the post-DNAT flow is). */
	SLUICE_CT_SERVICE = 1 << 4,
	/*
	 * The flow's first packet had the key's tuple reversed (its source
	 * sorts after its destination): direction, addresses and ports of the
	 * original packet are the key's swapped. See struct sluice_ct_key.
	 */
	SLUICE_CT_ORIG_REVERSED = 1 << 5,
	/*
	 * Judged again under policy_gen and denied: every packet of the flow,
	 * either way, is dropped (a server's segments must not start a flow of
	 * their own that lets the client's pass as replies) until a later
	 * generation allows it again or a bare SYN starts a new flow on the
	 * tuple. The entry ages like any other.
	 */
	SLUICE_CT_DENIED = 1 << 6,
};

/*
 * Reserved peer class ids. WORLD: no prefix of sluice_peers matched (or an
 * ipBlock except atom matched, stored with class 0). ANY: a tuple of a rule
 * without from/to; sluice_judge looks the packet's own class up first, then
 * ANY. User space allocates ordinary classes from 1 and never these.
 */
enum sluice_peer_class_reserved {
	SLUICE_PEER_CLASS_WORLD = 0,
	SLUICE_PEER_CLASS_ANY = 0x7fffffff,
};

/* What a sluice_names entry names (sluice_name_key.kind). */
enum sluice_name_kind {
	SLUICE_NAME_ENDPOINT = 1, /* id = endpoint_id, name = namespace/pod */
	SLUICE_NAME_RULESET = 2, /* id = rule set id, name = compiled rule set key */
	SLUICE_NAME_PEER_CLASS = 3, /* id = peer class id, name = class key */
	SLUICE_NAME_POLICY = 4, /* id = policy_id, name = namespace/name */
	SLUICE_NAME_ATTACHMENT = 5, /* id = attachment id, name = interface */
	/* id = endpoint_id * 2 + direction of an audited direction, name = its policies, comma-separated */
	SLUICE_NAME_AUDIT = 6,
};

/* sluice_name.flags of an ATTACHMENT: what sluice created on the interface. */
enum sluice_attach_flags {
	SLUICE_ATTACH_TCX = 1 << 0, /* tcx links pinned under <pin root>/links */
	SLUICE_ATTACH_CLSACT = 1 << 1, /* cls_bpf filters on clsact */
	SLUICE_ATTACH_QDISC_CREATED = 1 << 2, /* sluice created the clsact qdisc */
};

enum sluice_config_flags {
	SLUICE_CFG_EVENTS_ALLOW = 1 << 0, /* also emit allow events (new flows only) */
	SLUICE_CFG_EVENTS_NO_DENY = 1 << 1, /* stop emitting deny events */
};

/* Shared by sluice_endpoints, sluice_host_addrs and sluice_peer_addrs (HASH). */
struct sluice_addr_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};
_Static_assert(sizeof(struct sluice_addr_key) == 20, "sluice_addr_key");

struct sluice_endpoint {
	/* Non-zero; 0 is reserved for "unknown endpoint" in stats and events. */
	__u32 endpoint_id;
	/* Rule set ids for the policy trie; meaningful only when isolated. */
	__u32 ingress_ruleset;
	__u32 egress_ruleset;
	__u32 flags; /* enum sluice_endpoint_flags */
};
_Static_assert(sizeof(struct sluice_endpoint) == 16, "sluice_endpoint");

struct sluice_host_value {
	__u32 flags; /* reserved, zero */
};
_Static_assert(sizeof(struct sluice_host_value) == 4, "sluice_host_value");

/*
 * sluice_host_filter ARRAY, one entry (key 0): a 256-bit filter over the
 * addresses of sluice_host_addrs. An address's bit is the XOR of its 16
 * address bytes (struct sluice_addr_key.addr), so byte order does not
 * matter. A clear bit proves the address is not the node's, and a denied
 * ingress packet skips the sluice_host_addrs lookup; a set bit only means
 * "look it up". The agent writes it before sluice_host_addrs.
 */
struct sluice_host_filter {
	__u8 bits[32]; /* bit i: bits[i / 8] & (1 << (i % 8)) */
};
_Static_assert(sizeof(struct sluice_host_filter) == 32, "sluice_host_filter");

/* sluice_services LPM trie value; the key is a struct sluice_peer_key. */
struct sluice_service_value {
	__u32 flags; /* reserved, zero */
};
_Static_assert(sizeof(struct sluice_service_value) == 4, "sluice_service_value");

/*
 * sluice_peers LPM trie. prefixlen counts the 32 bits of family+pad and then
 * address bits: a v4 /24 is 32 + 24, a v6 /64 is 32 + 64. The family byte is
 * therefore always fully matched. It holds prefixes shorter than an address;
 * single addresses (/32, /128) are in the sluice_peer_addrs hash, looked up
 * first. No match in either means peer class 0 (world).
 */
struct sluice_peer_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};
_Static_assert(sizeof(struct sluice_peer_key) == 24, "sluice_peer_key");

struct sluice_peer_value { /* of sluice_peers and sluice_peer_addrs */
	/* 0 (world) is stored only for except atoms inside a wider prefix. */
	__u32 peer_class;
};
_Static_assert(sizeof(struct sluice_peer_value) == 4, "sluice_peer_value");

/*
 * sluice_policy_key.protocol of a PORTLESS tuple: every protocol without
 * ports (anything but TCP, UDP and SCTP: ICMP, ICMPv6, GRE, ...). A
 * port-less packet is looked up with this value, not its own protocol
 * number, so one entry covers every port-less protocol. TCP, UDP and SCTP
 * packets are looked up with their own numbers (6, 17, 132), so a PORTLESS
 * entry never matches them.
 */
enum sluice_policy_protocol_reserved {
	SLUICE_POLICY_PROTO_PORTLESS = 0,
};

/*
 * sluice_policy LPM trie. The fixed part (ruleset, peer_class, direction) is
 * always fully matched; protocol then dport come LAST so that the prefix
 * length wildcards the port (a port range is a set of port prefixes) and,
 * cut before protocol, the protocol too (an ANY tuple). Multi-byte fields are
 * big endian because the trie compares bytes most significant first.
 * The order of protocol+dport must not be changed.
 *
 * Entries: ANY = prefix ANY (protocol, dport 0); PORTLESS = prefix PROTOCOL,
 * protocol SLUICE_POLICY_PROTO_PORTLESS, dport 0; a port block of TCP, UDP
 * or SCTP = prefix PROTOCOL + n. A TCP/UDP/SCTP packet is looked up with
 * prefix FULL and its protocol and dport (ANY and its port blocks match); any
 * other packet with prefix PROTOCOL and protocol PORTLESS (ANY and PORTLESS
 * match, no port block does: it is longer than the lookup).
 */
struct sluice_policy_key {
	__u32 prefixlen;
	__be32 ruleset;
	__be32 peer_class;
	__u8 direction; /* enum sluice_direction */
	/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, or SLUICE_POLICY_PROTO_PORTLESS */
	__u8 protocol;
	__be16 dport;
};
_Static_assert(sizeof(struct sluice_policy_key) == 16, "sluice_policy_key");

/*
 * sluice_policy_ports HASH: the tuples of one TCP/UDP/SCTP port, looked up
 * before the trie, which holds only port ranges, protocol-ANY and PORTLESS
 * tuples.
 * The same fields as sluice_policy_key after its prefixlen.
 */
struct sluice_policy_port_key {
	__be32 ruleset;
	__be32 peer_class;
	__u8 direction; /* enum sluice_direction */
	__u8 protocol;
	__be16 dport;
};
_Static_assert(sizeof(struct sluice_policy_port_key) == 12, "sluice_policy_port_key");

struct sluice_policy_value { /* of sluice_policy and sluice_policy_ports */
	__u32 policy_id; /* user space maps it back to namespace/name */
	__u16 rule; /* rule index inside spec.ingress / spec.egress */
	__u16 flags; /* enum sluice_policy_flags */
};
_Static_assert(sizeof(struct sluice_policy_value) == 8, "sluice_policy_value");

/* Prefix lengths of sluice_policy_key, derived from the layout. */
enum sluice_policy_prefix {
	SLUICE_POLICY_PREFIX_ANY =
		(__builtin_offsetof(struct sluice_policy_key, protocol) - 4) * 8,
	SLUICE_POLICY_PREFIX_PROTOCOL =
		(__builtin_offsetof(struct sluice_policy_key, dport) - 4) * 8,
	SLUICE_POLICY_PREFIX_FULL = (sizeof(struct sluice_policy_key) - 4) * 8,
	SLUICE_PEER_PREFIX_BASE =
		(__builtin_offsetof(struct sluice_peer_key, addr) - 4) * 8,
};

/*
 * sluice_ct (IPv6) and sluice_ct4 (IPv4) LRU hashes. One entry per (hook
 * direction, flow) as first seen at that hook: the same flow has an EGRESS
 * entry at the source pod's hook and an INGRESS entry at the destination
 * pod's hook, each created only after that side allowed it.
 *
 * A flow and its replies share one key, so every packet needs one lookup:
 * the key holds the tuple with the lower (address, port) as source, both
 * compared as big-endian numbers (address first). A first packet whose
 * source sorts higher is stored reversed: addresses and ports swapped, the
 * opposite direction, and SLUICE_CT_ORIG_REVERSED in the value. A packet
 * matches as ESTABLISHED when it is oriented like the flow's first packet
 * and as REPLY otherwise. For ICMP echo both ports hold the echo id; other
 * port-less protocols use 0.
 *
 * IPv4 flows have their own map with a 16-byte key: the kernel hashes and
 * compares the whole key on every lookup, and that is most of the cost of
 * an established packet.
 */
struct sluice_ct_key {
	__u8 family;
	__u8 protocol;
	__u8 direction; /* enum sluice_direction; flipped when ORIG_REVERSED */
	__u8 pad;
	__be16 sport;
	__be16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
};
_Static_assert(sizeof(struct sluice_ct_key) == 40, "sluice_ct_key");

struct sluice_ct4_key {
	__u8 saddr[4];
	__u8 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 protocol;
	__u8 direction; /* enum sluice_direction; flipped when ORIG_REVERSED */
	__u8 pad[2];
};
_Static_assert(sizeof(struct sluice_ct4_key) == 16, "sluice_ct4_key");

struct sluice_ct_value {
	__u64 last_seen_ns; /* CLOCK_MONOTONIC (coarse); refreshed at most once a second */
	__u32 flags; /* enum sluice_ct_flags */
	/* sluice_config.policy_gen when last allowed; older = re-judge. */
	__u32 policy_gen;
	/*
	 * The pod-side endpoint of the hook that allowed the flow, for the
	 * counters of packets that skip the endpoint lookup. Valid while
	 * policy_gen is current (any endpoint change bumps the generation);
	 * 0 (e.g. an entry written by user space) sends the packet through
	 * the full path, which fills it in.
	 */
	__u32 endpoint_id;
	__u32 pad;
};
_Static_assert(sizeof(struct sluice_ct_value) == 24, "sluice_ct_value");

/*
 * sluice_frags LRU hash: first fragments that were allowed, so that the
 * later fragments of the same datagram (which carry no ports) pass too.
 */
struct sluice_frag_key {
	__u8 family;
	__u8 protocol;
	__u8 direction;
	__u8 pad;
	__be32 id; /* IPv4 id in the low 16 bits, or the IPv6 fragment id */
	__u8 saddr[16];
	__u8 daddr[16];
};
_Static_assert(sizeof(struct sluice_frag_key) == 40, "sluice_frag_key");

struct sluice_frag_value {
	__u64 first_seen_ns;
};
_Static_assert(sizeof(struct sluice_frag_value) == 8, "sluice_frag_value");

/*
 * sluice_stats per-CPU array, indexed by endpoint_id * 2 + direction (enum
 * sluice_direction): an array lookup is inlined by the verifier, a hash
 * lookup hashes the key. Index 0 and 1 count unknown endpoints; ids beyond
 * max_entries / 2 are not counted.
 */
struct sluice_stats_value {
	__u64 allowed_packets;
	__u64 allowed_bytes;
	__u64 denied_packets;
	__u64 denied_bytes;
};
_Static_assert(sizeof(struct sluice_stats_value) == 32, "sluice_stats_value");

/*
 * sluice_would_deny value (per-CPU array, index endpoint_id * 2 + direction,
 * as sluice_stats): verdicts WOULD_DENY, i.e. new flows (and flows judged
 * again after a policy change) that an audited direction lets through.
 */
struct sluice_would_deny_value {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct sluice_would_deny_value) == 16, "sluice_would_deny_value");

/* sluice_events ring buffer record. */
struct sluice_event {
	__u64 timestamp_ns; /* CLOCK_MONOTONIC, tick resolution (coarse clock) */
	__u32 endpoint_id;
	__u32 policy_id; /* 0 unless reason is POLICY */
	__u16 rule;
	__u8 direction;
	__u8 verdict; /* enum sluice_verdict */
	__u8 reason; /* enum sluice_reason */
	__u8 family;
	__u8 protocol;
	__u8 pad;
	__be16 sport;
	__be16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 peer_class; /* of the remote side, when it was looked up */
};
_Static_assert(sizeof(struct sluice_event) == 64, "sluice_event");

/* sluice_config array, one entry, changeable without reloading. */
struct sluice_config {
	__u32 flags; /* enum sluice_config_flags */
	/* Bump after removing allows: ct entries of older generations are re-judged. */
	__u32 policy_gen;
	__u32 events_per_sec; /* per CPU; 0 = default_events_per_sec */
	__u32 events_burst; /* per CPU; 0 = default_events_burst */
};
_Static_assert(sizeof(struct sluice_config) == 16, "sluice_config");

/* sluice_event_limit per-CPU array, one entry: token bucket state. */
struct sluice_event_limit {
	__u64 last_ns;
	__u64 tokens; /* in nanoseconds of budget: one event costs 1e9 */
	__u64 suppressed; /* events dropped by the bucket */
	__u64 lost; /* events dropped because the ring buffer was full */
};
_Static_assert(sizeof(struct sluice_event_limit) == 32, "sluice_event_limit");

/*
 * sluice_names HASH: user space's id assignments (endpoints, rule sets, peer
 * classes, policies) and the interfaces it attached to. The kernel never
 * reads it; a restarted agent rebuilds its id allocator and its record of
 * what it created from it, and `bpftool map dump` shows names for ids.
 */
struct sluice_name_key {
	__u8 kind; /* enum sluice_name_kind */
	__u8 pad[3];
	__u32 id;
};
_Static_assert(sizeof(struct sluice_name_key) == 8, "sluice_name_key");

struct sluice_name {
	__u32 flags; /* enum sluice_attach_flags for ATTACHMENT, else 0 */
	char name[124]; /* NUL-terminated; longer names are cut (then re-assigned) */
};
_Static_assert(sizeof(struct sluice_name) == 128, "sluice_name");

/*
 * Enum types, and structs no map names as key or value (the ring buffer
 * record), reach the BTF only through a typed global: the program defines
 * one of these so layout-btf.test.ts can check them. Never read.
 */
struct sluice_btf_anchor {
	struct sluice_event event;
	enum sluice_family family;
	enum sluice_direction direction;
	enum sluice_verdict verdict;
	enum sluice_reason reason;
	enum sluice_endpoint_flags endpoint_flags;
	enum sluice_policy_flags policy_flags;
	enum sluice_ct_flags ct_flags;
	enum sluice_config_flags config_flags;
	enum sluice_policy_prefix policy_prefix;
	enum sluice_peer_class_reserved peer_class_reserved;
	enum sluice_name_kind name_kind;
	enum sluice_attach_flags attach_flags;
	enum sluice_policy_protocol_reserved policy_protocol_reserved;
	__u32 pad;
};
_Static_assert(sizeof(struct sluice_btf_anchor) == 120, "sluice_btf_anchor");

#endif /* SLUICE_MAPS_H */
