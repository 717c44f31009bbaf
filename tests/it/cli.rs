//! The `palisade user` and `palisade cluster` commands, run as the real binary against the test
//! database.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

fn palisade(app: &crate::helpers::TestApp, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    palisade_with(app, args, stdin, &[])
}

/// [`palisade`] with extra environment (e.g. another key).
fn palisade_with(
    app: &crate::helpers::TestApp,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (bool, String) {
    let mut url = url::Url::parse(&crate::helpers::test_server_url()).unwrap();
    url.set_path(&app.db_name);
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", url.as_str())
        .env("PALISADE__SECRETS__KEY_FILE", dir.path().join("k"))
        .env("PALISADE__SECRETS__KEY", CLI_KEY)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The CLI and the server must share the key, or the server cannot read what the CLI registered.
const CLI_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_add_list_and_passwd_work_headless() {
    let app = spawn_app().await;
    let (ok, out) = palisade(
        &app,
        &["user", "add", "carol", "--role", "editor", "--password-stdin"],
        Some("carol-password-1\n"),
    );
    assert!(ok, "{out}");
    assert!(out.contains("created user carol (editor)"), "{out}");
    app.login("carol", "carol-password-1").await;
    let (ok, out) = palisade(&app, &["user", "list"], None);
    assert!(ok && out.contains("carol") && out.contains("admin"), "{out}");
    let (ok, out) = palisade(&app, &["user", "passwd", "carol"], None);
    assert!(ok, "{out}");
    let generated = out.lines().find_map(|l| l.strip_prefix("password: ")).unwrap().to_string();
    app.login("carol", &generated).await;
    let (ok, out) = palisade(&app, &["user", "add", "dave", "--password-stdin"], Some("short\n"));
    assert!(!ok && out.contains("too short"), "{out}");
    let (ok, out) = palisade(&app, &["user", "add", "carol", "--password-stdin"], Some("another-long-one\n"));
    assert!(!ok && out.contains("already exists"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_add_list_and_remove_work_headless() {
    let app = spawn_app_with(|s| s.secrets.key = CLI_KEY.to_string().into()).await;
    let server = crate::tls_fixture::spawn_version_server(&["127.0.0.1"]).await;
    let dir = tempfile::tempdir().unwrap();
    // A local kubeconfig may refer to files next to it (the server's upload path refuses that).
    std::fs::write(dir.path().join("ca.crt"), &server.ca_pem).unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority: ca.crt\n\
             users:\n- name: u\n  user:\n    token: cli-token\ncontexts:\n- name: ctx\n  context: {{cluster: c, user: u}}\ncurrent-context: ctx\n",
            server.url
        ),
    )
    .unwrap();
    let (ok, out) = palisade(
        &app,
        &[
            "cluster",
            "add",
            "cli-cluster",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--label",
            "environment=prod",
        ],
        None,
    );
    assert!(ok, "{out}");
    assert!(out.contains("reachable, Kubernetes v1.33.1"), "{out}");
    let (ok, out) = palisade(&app, &["cluster", "list"], None);
    assert!(ok && out.contains("cli-cluster") && out.contains("environment=prod"), "{out}");
    let list: serde_json::Value =
        app.admin.get(app.url("/api/v1/clusters")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"][0]["name"], "cli-cluster");
    let id = list["items"][0]["id"].as_str().unwrap().parse().unwrap();
    let creds = app.state.cluster_credentials(id).await.unwrap();
    assert_eq!(creds.ca_pem.as_deref(), Some(server.ca_pem.as_str()));

    let exec = dir.path().join("exec");
    std::fs::write(&exec, "apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: 'https://x:1'}\nusers:\n- name: u\n  user:\n    exec: {command: aws}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\n").unwrap();
    let (ok, out) = palisade(&app, &["cluster", "add", "eks", "--kubeconfig", exec.to_str().unwrap()], None);
    assert!(!ok && out.contains("never runs programs"), "{out}");

    // Push mode: no credentials, the agent's next steps printed, and no kubeconfig with it.
    let (ok, out) = palisade(&app, &["cluster", "add", "edge-1", "--push", "--label", "site=edge"], None);
    assert!(
        ok && out.contains("registered edge-1 (push mode)") && out.contains("cluster-agent.yaml"),
        "{out}"
    );
    let (ok, out) = palisade(&app, &["cluster", "list"], None);
    let line = out.lines().find(|l| l.starts_with("edge-1")).unwrap_or_else(|| panic!("{out}"));
    assert!(ok && line.contains("(push mode)") && line.contains("site=edge"), "{out}");
    let (ok, out) = palisade(
        &app,
        &["cluster", "add", "edge-2", "--push", "--kubeconfig", kubeconfig.to_str().unwrap()],
        None,
    );
    assert!(!ok && out.contains("cannot be used with"), "{out}");
    let (ok, out) = palisade(&app, &["cluster", "remove", "edge-1"], None);
    assert!(ok, "{out}");

    let (ok, out) = palisade(&app, &["cluster", "remove", "cli-cluster"], None);
    assert!(ok && out.contains("history kept"), "{out}");
    let list: serde_json::Value =
        app.admin.get(app.url("/api/v1/clusters")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"], json!([]));
}

/// Key rotation as the README describes it: new key current, old key previous, `cluster rekey`;
/// afterwards the new key alone reads every credential and the old one reads none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_rekey_re_encrypts_every_credential_with_the_new_key() {
    use base64::Engine;
    use palisade::secrets::Cipher;
    let app = spawn_app_with(|s| s.secrets.key = CLI_KEY.to_string().into()).await;
    let (ok, out) = palisade(
        &app,
        &["cluster", "add", "rotating", "--server", "https://127.0.0.1:1", "--token-file", "/dev/stdin"],
        Some("rotation-secret-token"),
    );
    assert!(ok, "{out}");
    let (id, old_key_id, old_blob): (uuid::Uuid, String, Vec<u8>) =
        sqlx::query_as("SELECT id, credentials_key_id, credentials FROM clusters WHERE name = 'rotating'")
            .fetch_one(&app.pool)
            .await
            .unwrap();

    let new_key = palisade::secrets::generate_key_b64();
    let (ok, out) = palisade_with(
        &app,
        &["cluster", "rekey"],
        None,
        &[("PALISADE__SECRETS__KEY", &new_key), ("PALISADE__SECRETS__PREVIOUS_KEYS", CLI_KEY)],
    );
    assert!(ok, "{out}");
    assert!(out.contains("re-encrypted the credentials of 1 cluster(s)"), "{out}");

    let (key_id, blob): (String, Vec<u8>) =
        sqlx::query_as("SELECT credentials_key_id, credentials FROM clusters WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_ne!(key_id, old_key_id);
    assert_ne!(blob, old_blob);
    assert!(!String::from_utf8_lossy(&blob).contains("rotation-secret-token"));
    let decode = |k: &str| base64::engine::general_purpose::STANDARD.decode(k).unwrap();
    let new_only = Cipher::new(&decode(&new_key), &[]).unwrap();
    assert_eq!(key_id, new_only.current_key_id());
    let creds = palisade::store::clusters::load_credentials(&app.pool, &new_only, id).await.unwrap();
    match creds.auth {
        palisade::collect::client::ClusterAuth::Token { token } => assert_eq!(token, "rotation-secret-token"),
        other => panic!("unexpected credentials {other:?}"),
    }
    let old_only = Cipher::new(&decode(CLI_KEY), &[]).unwrap();
    assert!(palisade::store::clusters::load_credentials(&app.pool, &old_only, id).await.is_err());
}
