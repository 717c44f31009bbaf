//! Protocols, port sets and their interning: the port side of NetworkPolicy semantics.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::snapshot::{NetworkPolicyPort, PortRef};

/// A transport protocol NetworkPolicy can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Proto {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Proto {
    pub const ALL: [Proto; 3] = [Proto::Tcp, Proto::Udp, Proto::Sctp];

    /// Parse the API's spelling; `None` for a protocol NetworkPolicy does not know.
    pub fn parse(s: &str) -> Option<Proto> {
        match s {
            "TCP" => Some(Proto::Tcp),
            "UDP" => Some(Proto::Udp),
            "SCTP" => Some(Proto::Sctp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Sctp => "SCTP",
        }
    }
}

/// A set of (protocol, port) pairs, kept as sorted, merged, inclusive ranges so that equal sets
/// compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PortSet {
    ranges: Vec<(Proto, u16, u16)>,
}

impl PortSet {
    /// No traffic.
    pub fn none() -> Self {
        Self::default()
    }

    /// Every port of every protocol.
    pub fn all() -> Self {
        Self { ranges: Proto::ALL.iter().map(|p| (*p, 1, u16::MAX)).collect() }
    }

    /// Ports `lo..=hi` of one protocol.
    pub fn range(proto: Proto, lo: u16, hi: u16) -> Self {
        let (lo, hi) = (lo.max(1), hi.max(lo.max(1)));
        Self { ranges: vec![(proto, lo, hi)] }
    }

    pub fn single(proto: Proto, port: u16) -> Self {
        Self::range(proto, port, port)
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn is_all(&self) -> bool {
        *self == Self::all()
    }

    pub fn contains(&self, proto: Proto, port: u16) -> bool {
        self.ranges.iter().any(|(p, lo, hi)| *p == proto && *lo <= port && port <= *hi)
    }

    fn normalize(mut ranges: Vec<(Proto, u16, u16)>) -> Self {
        ranges.sort_unstable();
        let mut out: Vec<(Proto, u16, u16)> = Vec::with_capacity(ranges.len());
        for (p, lo, hi) in ranges {
            if let Some(last) = out.last_mut() {
                if last.0 == p && u32::from(lo) <= u32::from(last.2) + 1 {
                    last.2 = last.2.max(hi);
                    continue;
                }
            }
            out.push((p, lo, hi));
        }
        Self { ranges: out }
    }

    pub fn union(&self, other: &PortSet) -> PortSet {
        if self.is_empty() {
            return other.clone();
        }
        if other.is_empty() {
            return self.clone();
        }
        Self::normalize(self.ranges.iter().chain(other.ranges.iter()).copied().collect())
    }

    pub fn intersect(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        for &(p, lo, hi) in &self.ranges {
            for &(q, lo2, hi2) in &other.ranges {
                if p == q {
                    let (a, b) = (lo.max(lo2), hi.min(hi2));
                    if a <= b {
                        out.push((p, a, b));
                    }
                }
            }
        }
        Self::normalize(out)
    }
}

impl fmt::Display for PortSet {
    /// `all`, `none`, or e.g. `TCP 80,443,8000-8080; UDP 53`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        if self.is_all() {
            return f.write_str("all");
        }
        let mut first_proto = true;
        for proto in Proto::ALL {
            let mut parts = self.ranges.iter().filter(|r| r.0 == proto).peekable();
            if parts.peek().is_none() {
                continue;
            }
            if !first_proto {
                f.write_str("; ")?;
            }
            first_proto = false;
            write!(f, "{} ", proto.as_str())?;
            let mut first = true;
            for (_, lo, hi) in parts {
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                match (*lo, *hi) {
                    (1, u16::MAX) => f.write_str("all")?,
                    (lo, hi) if lo == hi => write!(f, "{lo}")?,
                    (lo, hi) => write!(f, "{lo}-{hi}")?,
                }
            }
        }
        Ok(())
    }
}

/// Port sets interned to small ids, with memoized set operations (the matrix repeats the same
/// few sets millions of times).
#[derive(Debug, Clone)]
pub struct PortTable {
    sets: Vec<PortSet>,
    ids: HashMap<PortSet, u32>,
    unions: HashMap<(u32, u32), u32>,
    intersections: HashMap<(u32, u32), u32>,
}

/// Id of the empty set in every [`PortTable`].
pub const NONE: u32 = 0;
/// Id of the set of every port in every [`PortTable`].
pub const ALL: u32 = 1;

impl Default for PortTable {
    fn default() -> Self {
        let mut t = Self {
            sets: Vec::new(),
            ids: HashMap::new(),
            unions: HashMap::new(),
            intersections: HashMap::new(),
        };
        t.intern(PortSet::none());
        t.intern(PortSet::all());
        t
    }
}

impl PortTable {
    pub fn intern(&mut self, set: PortSet) -> u32 {
        if let Some(id) = self.ids.get(&set) {
            return *id;
        }
        let id = self.sets.len() as u32;
        self.sets.push(set.clone());
        self.ids.insert(set, id);
        id
    }

    pub fn get(&self, id: u32) -> &PortSet {
        &self.sets[id as usize]
    }

    pub fn union(&mut self, a: u32, b: u32) -> u32 {
        if a == b || b == NONE || a == ALL {
            return a;
        }
        if a == NONE || b == ALL {
            return b;
        }
        let key = (a.min(b), a.max(b));
        if let Some(id) = self.unions.get(&key) {
            return *id;
        }
        let set = self.sets[a as usize].union(&self.sets[b as usize]);
        let id = self.intern(set);
        self.unions.insert(key, id);
        id
    }

    pub fn intersect(&mut self, a: u32, b: u32) -> u32 {
        if a == b || b == ALL {
            return a;
        }
        if a == ALL {
            return b;
        }
        if a == NONE || b == NONE {
            return NONE;
        }
        let key = (a.min(b), a.max(b));
        if let Some(id) = self.intersections.get(&key) {
            return *id;
        }
        let set = self.sets[a as usize].intersect(&self.sets[b as usize]);
        let id = self.intern(set);
        self.intersections.insert(key, id);
        id
    }
}

/// The numeric part of a rule's ports, and the named entries to resolve per destination.
pub(super) fn rule_ports(ports: &Option<Vec<NetworkPolicyPort>>) -> (PortSet, Vec<(String, Proto)>) {
    let Some(ports) = ports.as_ref().filter(|p| !p.is_empty()) else {
        return (PortSet::all(), Vec::new());
    };
    let mut set = PortSet::none();
    let mut named = Vec::new();
    for entry in ports {
        // An unknown protocol matches nothing (the API would have rejected it).
        let Some(proto) = Proto::parse(entry.protocol.as_deref().unwrap_or("TCP")) else { continue };
        match &entry.port {
            None => set = set.union(&PortSet::range(proto, 1, u16::MAX)),
            Some(PortRef::Number(n)) => {
                let end = entry.end_port.filter(|e| e >= n).unwrap_or(*n);
                set = set.union(&PortSet::range(proto, *n, end));
            }
            // A number written as a string ("8080") is a number to the API server too.
            Some(PortRef::Name(name)) => match name.parse::<u16>() {
                Ok(n) => {
                    let end = entry.end_port.filter(|e| *e >= n).unwrap_or(n);
                    set = set.union(&PortSet::range(proto, n, end));
                }
                Err(_) => named.push((name.clone(), proto)),
            },
        }
    }
    (set, named)
}

/// Resolve named port entries against one destination's container ports.
pub(super) fn resolve_named(named: &[(String, Proto)], ports: &[(String, Proto, u16)]) -> PortSet {
    let mut out = Vec::new();
    for (name, proto) in named {
        for (n, p, num) in ports {
            if n == name && p == proto {
                out.push((*p, *num, *num));
            }
        }
    }
    PortSet::normalize(out)
}
