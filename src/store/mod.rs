//! All SQL lives here.

pub mod findings;
pub mod scans;
pub mod trends;
