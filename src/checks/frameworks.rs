//! Compliance frameworks as data (read by the check engine for references, and by
//! [`crate::frameworks`] for compliance; it sits here so checks need nothing above them): every `src/frameworks/data/*.yaml` file is bundled at build time
//! (build.rs lists the directory), parsed and checked once, and is the only place that says which
//! Palisade checks decide which control. A check's framework references are read back from here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::{catalog, FrameworkRef};

include!(concat!(env!("OUT_DIR"), "/framework_files.rs"));

/// Whether a control is decided by tooling ("Automated" in CIS) or left to a reviewer ("Manual").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ControlType {
    Automated,
    Manual,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworkFile {
    id: String,
    name: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    sections: BTreeMap<String, String>,
    controls: Vec<ControlFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlFile {
    id: String,
    #[serde(default)]
    section: Option<String>,
    title: String,
    #[serde(rename = "type")]
    kind: ControlType,
    #[serde(default)]
    checks: Vec<String>,
    #[serde(default)]
    manual: Option<String>,
    /// `manual` when kube-bench has no test for the control (it always reports WARN).
    #[serde(default)]
    kube_bench: Option<String>,
}

/// One framework, as its data file describes it.
#[derive(Debug, Clone)]
pub struct Framework {
    /// Stable id, e.g. `cis-1.12`.
    pub id: String,
    pub name: String,
    pub version: String,
    pub source: Option<String>,
    /// Section id → title.
    pub sections: BTreeMap<String, String>,
    /// In the framework's order.
    pub controls: Vec<Control>,
}

/// One control (a CIS recommendation, an NSA/CISA guidance item).
#[derive(Debug, Clone)]
pub struct Control {
    pub id: String,
    pub section: Option<String>,
    pub title: String,
    pub kind: ControlType,
    /// The Palisade checks that decide it; empty for a control reviewed by hand.
    pub checks: Vec<String>,
    /// What a reviewer looks at, for a control no check decides.
    pub manual: Option<String>,
    /// kube-bench has no test for it.
    pub kube_bench_manual: bool,
}

impl Framework {
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }

    /// The section title of a control, when the file names its sections.
    pub fn section_title(&self, control: &Control) -> Option<&str> {
        control.section.as_deref().and_then(|s| self.sections.get(s)).map(String::as_str)
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// Parse and check one framework file against the checks Palisade has.
pub fn parse(name: &str, text: &str, known_checks: &HashSet<&str>) -> Result<Framework, String> {
    let file: FrameworkFile = serde_yaml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
    if !valid_id(&file.id) {
        return Err(format!(
            "{name}: framework id `{}` is not lowercase letters, digits, `.` and `-`",
            file.id
        ));
    }
    if file.controls.is_empty() {
        return Err(format!("{name}: no controls"));
    }
    let mut seen = HashSet::new();
    let mut controls = Vec::with_capacity(file.controls.len());
    for c in file.controls {
        let at = format!("{name}: control `{}`", c.id);
        if c.id.trim().is_empty() || c.title.trim().is_empty() {
            return Err(format!("{at}: a control needs an id and a title"));
        }
        if !seen.insert(c.id.clone()) {
            return Err(format!("{at} appears twice"));
        }
        if let Some(section) = &c.section {
            if !file.sections.is_empty() && !file.sections.contains_key(section) {
                return Err(format!("{at}: section `{section}` is not in `sections`"));
            }
        }
        match (c.checks.is_empty(), c.manual.as_deref().map(str::trim)) {
            (true, None | Some("")) => {
                return Err(format!("{at}: name the checks that decide it, or say what to review (`manual`)"))
            }
            (false, Some(_)) => return Err(format!("{at}: has both checks and a `manual` text")),
            _ => {}
        }
        let mut checks = HashSet::new();
        for check in &c.checks {
            if !known_checks.contains(check.as_str()) {
                return Err(format!("{at}: no check `{check}` in the catalog"));
            }
            if !checks.insert(check) {
                return Err(format!("{at}: lists `{check}` twice"));
            }
        }
        let kube_bench_manual = match c.kube_bench.as_deref() {
            None => false,
            Some("manual") => true,
            Some(other) => return Err(format!("{at}: kube_bench is `manual` or absent, not `{other}`")),
        };
        controls.push(Control {
            id: c.id,
            section: c.section,
            title: c.title,
            kind: c.kind,
            checks: c.checks,
            manual: c.manual,
            kube_bench_manual,
        });
    }
    Ok(Framework {
        id: file.id,
        name: file.name,
        version: file.version,
        source: file.source,
        sections: file.sections,
        controls,
    })
}

struct Registry {
    frameworks: Vec<Framework>,
    refs: HashMap<String, Vec<FrameworkRef>>,
}

/// Parse every bundled file; a test parses them too, so a file that does not load fails the build's
/// tests rather than a running server.
fn load(files: &[(&str, &str)]) -> Result<Registry, String> {
    let catalog = catalog();
    let known: HashSet<&str> = catalog.iter().map(|c| c.meta.id).collect();
    let mut frameworks: Vec<Framework> = Vec::new();
    for (name, text) in files {
        let fw = parse(name, text, &known)?;
        if frameworks.iter().any(|f| f.id == fw.id) {
            return Err(format!("{name}: framework `{}` is defined twice", fw.id));
        }
        frameworks.push(fw);
    }
    let mut refs: HashMap<String, Vec<FrameworkRef>> = HashMap::new();
    for fw in &frameworks {
        for control in &fw.controls {
            for check in &control.checks {
                refs.entry(check.clone())
                    .or_default()
                    .push(FrameworkRef { framework: fw.id.clone(), id: control.id.clone() });
            }
        }
    }
    Ok(Registry { frameworks, refs })
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY
        .get_or_init(|| load(FILES).unwrap_or_else(|e| panic!("a bundled framework file is invalid: {e}")))
}

/// Every bundled framework, ordered by file name.
pub fn all() -> &'static [Framework] {
    &registry().frameworks
}

/// A framework by id.
pub fn get(id: &str) -> Option<&'static Framework> {
    all().iter().find(|f| f.id == id)
}

/// The controls a check decides, in every framework.
pub fn refs_of(check_id: &str) -> &'static [FrameworkRef] {
    registry().refs.get(check_id).map(Vec::as_slice).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> HashSet<&'static str> {
        ["PAL-AUTHN-001", "PAL-AUTHN-002"].into_iter().collect()
    }

    #[test]
    fn every_bundled_file_loads_and_ids_are_stable() {
        let reg = load(FILES).unwrap();
        let ids: Vec<&str> = reg.frameworks.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["cis-1.12", "nsa-cisa-1.2"]);
        assert_eq!(get("cis-1.12").unwrap().controls.len(), 131);
        assert!(refs_of("PAL-AUTHN-001").iter().any(|r| r.framework == "cis-1.12" && r.id == "1.2.1"));
        assert!(refs_of("PAL-AUTHN-001")
            .iter()
            .any(|r| r.framework == "nsa-cisa-1.2" && r.id == "authentication"));
    }

    #[test]
    fn a_new_framework_is_a_new_file() {
        let text = "id: example-1.0\nname: Example\nversion: '1.0'\ncontrols:\n  - id: a\n    title: Anonymous off\n    type: automated\n    checks: [PAL-AUTHN-001]\n  - id: b\n    title: Look\n    type: manual\n    manual: Read the config.\n";
        let files = [("example.yaml", text)];
        let reg = load(&files).unwrap();
        assert_eq!(reg.frameworks[0].controls.len(), 2);
        assert_eq!(
            reg.refs["PAL-AUTHN-001"],
            vec![FrameworkRef { framework: "example-1.0".into(), id: "a".into() }]
        );
    }

    #[test]
    fn a_broken_file_is_refused_with_the_reason() {
        let base = "id: x\nname: X\nversion: '1'\ncontrols:\n";
        let cases = [
            ("  - {id: a, title: T, type: automated, checks: [PAL-NOPE-001]}\n", "no check `PAL-NOPE-001`"),
            ("  - {id: a, title: T, type: automated}\n", "name the checks"),
            ("  - {id: a, title: T, type: manual, manual: look, checks: [PAL-AUTHN-001]}\n", "both checks"),
            ("  - {id: a, title: T, type: manual, manual: x}\n  - {id: a, title: U, type: manual, manual: y}\n", "twice"),
            ("  - {id: a, title: T, type: sometimes, manual: x}\n", "unknown variant"),
            ("  - {id: a, title: T, type: manual, manual: x, colour: red}\n", "unknown field"),
        ];
        for (controls, why) in cases {
            let err = parse("x.yaml", &format!("{base}{controls}"), &known()).unwrap_err();
            assert!(err.contains(why), "{controls}: {err}");
        }
        assert!(parse("x.yaml", "id: Bad Id\nname: X\nversion: '1'\ncontrols: []\n", &known())
            .unwrap_err()
            .contains("framework id"));
    }
}
