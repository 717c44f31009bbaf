//! Validated domain types shared by checks, store, API and UI.

use serde::{Deserialize, Serialize};

pub mod cluster;
pub mod names;
pub use cluster::{ClusterAuth, ClusterCredentials, Connectivity};
pub use names::{validate_password, ClusterName, GroupName, Labels, Username};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {} `{}` (expected one of: {})", stringify!($name).to_lowercase(), other,
                        [$($text),+].join(", "))) }
            }
        }
    };
}

string_enum!(
    /// The five areas of security posture Palisade judges.
    Area { Host => "host", Authn => "authn", Authz => "authz", Tls => "tls", Network => "network" }
);

string_enum!(
    /// How bad a failed check is. Ordered from least to most severe.
    Severity { Info => "info", Low => "low", Medium => "medium", High => "high", Critical => "critical" }
);

string_enum!(
    /// The verdict of one check on one resource.
    Status {
        Pass => "pass",
        Fail => "fail",
        /// Advisory or manual control, or a finding that needs a human's judgement.
        Warn => "warn",
        /// The check does not apply (e.g. control plane hidden on a managed cluster).
        NotApplicable => "not_applicable",
        /// The evidence is missing; the result carries the reason.
        Unknown => "unknown",
    }
);

string_enum!(
    /// A user's or token's role. Ordered from least to most privileged.
    Role { Viewer => "viewer", Editor => "editor", Admin => "admin" }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_from_info_to_critical() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!("high".parse::<Severity>(), Ok(Severity::High));
        assert!("urgent".parse::<Severity>().is_err());
    }

    #[test]
    fn roles_order_by_privilege() {
        assert!(Role::Admin > Role::Editor && Role::Editor > Role::Viewer);
        assert_eq!(serde_json::to_string(&Status::NotApplicable).unwrap(), "\"not_applicable\"");
    }
}
