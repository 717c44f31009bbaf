//! Cluster credentials: parsed from kubeconfigs at the edge, turned into a Kubernetes client.
//!
//! Kubeconfigs are read with kube's own kubeconfig types. An uploaded kubeconfig is untrusted
//! input: credential plugins (`exec`, `auth-provider`) are refused, because the server must never
//! run a program named by an uploaded file; impersonation (`as`) is refused, because findings must
//! be what the credentials' own identity sees; and file
//! references (`certificate-authority: /path`) are refused unless the caller reads a local file on
//! its user's behalf (the CLI).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use kube::config::{AuthInfo, Kubeconfig};
use secrecy::ExposeSecret;

pub use crate::domain::{ClusterAuth, ClusterCredentials};
use crate::egress::Egress;
use crate::telemetry;

/// Errors while reading a kubeconfig or building a client. Messages are meant for people.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("the kubeconfig is not valid YAML: {0}")]
    Yaml(String),
    #[error("the kubeconfig has no context named `{0}` (available: {1})")]
    UnknownContext(String, String),
    #[error("the kubeconfig names no context to use: pass one explicitly (available: {0})")]
    NoContext(String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "the kubeconfig user `{0}` uses a credential plugin (`{1}`); Palisade never runs programs named by a \
         kubeconfig. Use a service-account bearer token or a client certificate instead \
         (see README: registering a cluster)"
    )]
    CredentialPlugin(String, &'static str),
}

/// Where file references in a kubeconfig may be resolved.
#[derive(Debug, Clone)]
pub enum FileRefs {
    /// Uploaded kubeconfig: any file reference is an error.
    Refuse,
    /// Local kubeconfig read by the CLI: relative paths resolve against this directory.
    ResolveFrom(PathBuf),
}

/// Where a pod's service account credentials are mounted.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The credentials of the pod this process runs in: the API server from
/// `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`, the service account's token and CA from
/// `sa_dir`. Read again for every use, because the kubelet rotates the projected token.
pub fn in_cluster_credentials(sa_dir: &Path) -> Result<ClusterCredentials, String> {
    let host = std::env::var("KUBERNETES_SERVICE_HOST").map_err(|_| {
        "not running in a pod (KUBERNETES_SERVICE_HOST is not set): pass --kubeconfig".to_string()
    })?;
    let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
    let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host };
    let read = |name: &str| {
        let path = sa_dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let creds = ClusterCredentials {
        server: format!("https://{host}:{port}"),
        ca_pem: Some(read("ca.crt")?),
        tls_server_name: None,
        insecure_skip_tls_verify: false,
        auth: ClusterAuth::Token { token: read("token")?.trim().to_string() },
    };
    creds.validate().map_err(|e| e.to_string())?;
    Ok(creds)
}

/// The context names of a kubeconfig and the current one, for a context picker.
pub fn kubeconfig_contexts(yaml: &str) -> Result<(Vec<String>, Option<String>), CredentialsError> {
    let raw = parse(yaml)?;
    Ok((raw.contexts.iter().map(|c| c.name.clone()).collect(), raw.current_context))
}

/// Parse kubeconfig text with kube's own kubeconfig types (what kubectl and client-go accept,
/// several YAML documents merged as `KUBECONFIG` lists are).
fn parse(yaml: &str) -> Result<Kubeconfig, CredentialsError> {
    Kubeconfig::from_yaml(yaml).map_err(|e| CredentialsError::Yaml(telemetry::Chain(&e).to_string()))
}

/// Refuse what Palisade will not do with a kubeconfig user: run a credential plugin, log in with
/// a password, or act as someone else.
fn refuse_unsupported(user_name: &str, user: &AuthInfo) -> Result<(), CredentialsError> {
    if user.exec.is_some() {
        return Err(CredentialsError::CredentialPlugin(user_name.to_string(), "exec"));
    }
    if user.auth_provider.is_some() {
        return Err(CredentialsError::CredentialPlugin(user_name.to_string(), "auth-provider"));
    }
    let impersonates = user.impersonate.is_some()
        || user.impersonate_uid.is_some()
        || user.impersonate_groups.as_ref().is_some_and(|g| !g.is_empty())
        || user.impersonate_user_extra.as_ref().is_some_and(|x| !x.is_empty());
    if impersonates {
        return Err(CredentialsError::Invalid(format!(
            "user `{user_name}` impersonates another identity (`as`, `as-uid`, `as-groups` or `as-user-extra`); \
             Palisade scans with the credentials' own identity, so its findings say what that identity can \
             see. Remove the impersonation, or give Palisade a token of the identity to scan as"
        )));
    }
    if user.username.is_some() || user.password.is_some() {
        return Err(CredentialsError::Invalid(format!(
            "user `{user_name}` uses basic authentication (username/password), which Kubernetes removed in 1.19; \
             use a bearer token or a client certificate"
        )));
    }
    Ok(())
}

/// Read the credentials of `context` (or the current context) from kubeconfig text.
pub fn credentials_from_kubeconfig(
    yaml: &str,
    context: Option<&str>,
    files: &FileRefs,
) -> Result<(String, ClusterCredentials), CredentialsError> {
    let raw = parse(yaml)?;
    let names = || raw.contexts.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
    let wanted = match context.or(raw.current_context.as_deref()).filter(|c| !c.is_empty()) {
        Some(c) => c.to_string(),
        None if raw.contexts.len() == 1 => raw.contexts[0].name.clone(),
        None => return Err(CredentialsError::NoContext(names())),
    };
    let ctx = raw
        .contexts
        .iter()
        .find(|c| c.name == wanted)
        .ok_or_else(|| CredentialsError::UnknownContext(wanted.clone(), names()))?;
    let ctx_item = ctx
        .context
        .as_ref()
        .ok_or_else(|| CredentialsError::Invalid(format!("context `{wanted}` has no `context:` section")))?;
    let cluster = raw
        .clusters
        .iter()
        .find(|c| c.name == ctx_item.cluster)
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| {
        CredentialsError::Invalid(format!(
            "context `{wanted}` refers to a missing cluster `{}`",
            ctx_item.cluster
        ))
    })?;
    let default_user = AuthInfo::default();
    let (user_name, user) = match &ctx_item.user {
        Some(name) => (
            name.clone(),
            raw.auth_infos.iter().find(|u| &u.name == name).and_then(|u| u.auth_info.as_ref()).ok_or_else(
                || CredentialsError::Invalid(format!("context `{wanted}` refers to a missing user `{name}`")),
            )?,
        ),
        None => (String::new(), &default_user),
    };
    refuse_unsupported(&user_name, user)?;
    let server = cluster.server.clone().ok_or_else(|| {
        CredentialsError::Invalid(format!("cluster `{}` has no `server` URL", ctx_item.cluster))
    })?;
    if let Some(proxy) = &cluster.proxy_url {
        return Err(CredentialsError::Invalid(format!(
            "cluster `{}` is reached through the proxy `{proxy}`; Palisade connects to API servers directly \
             (within its egress allow list)",
            ctx_item.cluster
        )));
    }
    let ca_pem = match (&cluster.certificate_authority_data, &cluster.certificate_authority) {
        (Some(data), _) => Some(decode_b64_pem(data, "certificate-authority-data")?),
        (None, Some(path)) => Some(read_ref(files, path, "certificate-authority")?),
        (None, None) => None,
    };
    let token = match (&user.token, &user.token_file) {
        (Some(t), _) => Some(t.expose_secret().trim().to_string()),
        (None, Some(path)) => Some(read_ref(files, path, "tokenFile")?.trim().to_string()),
        _ => None,
    };
    let cert = match (&user.client_certificate_data, &user.client_certificate) {
        (Some(data), _) => Some(decode_b64_pem(data, "client-certificate-data")?),
        (None, Some(path)) => Some(read_ref(files, path, "client-certificate")?),
        _ => None,
    };
    let key = match (&user.client_key_data, &user.client_key) {
        (Some(data), _) => Some(decode_b64_pem(data.expose_secret(), "client-key-data")?),
        (None, Some(path)) => Some(read_ref(files, path, "client-key")?),
        _ => None,
    };
    let auth = match (token, cert, key) {
        (Some(token), _, _) if !token.is_empty() => ClusterAuth::Token { token },
        (Some(_), _, _) => {
            return Err(CredentialsError::Invalid(format!("user `{user_name}` has an empty token")));
        }
        (_, Some(cert_pem), Some(key_pem)) => ClusterAuth::ClientCertificate { cert_pem, key_pem },
        (_, Some(_), None) | (_, None, Some(_)) => {
            return Err(CredentialsError::Invalid(format!(
            "user `{user_name}` has a client certificate without its key (or a key without its certificate)"
        )))
        }
        _ => ClusterAuth::None,
    };
    let creds = ClusterCredentials {
        server,
        ca_pem,
        tls_server_name: cluster.tls_server_name.clone(),
        insecure_skip_tls_verify: cluster.insecure_skip_tls_verify.unwrap_or(false),
        auth,
    };
    creds.validate()?;
    Ok((wanted, creds))
}

fn decode_b64_pem(data: &str, field: &str) -> Result<String, CredentialsError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| CredentialsError::Invalid(format!("`{field}` is not valid base64: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|_| CredentialsError::Invalid(format!("`{field}` does not hold PEM text")))
}

fn read_ref(files: &FileRefs, path: &str, field: &str) -> Result<String, CredentialsError> {
    match files {
        FileRefs::Refuse => Err(CredentialsError::Invalid(format!(
            "`{field}` refers to the file `{path}`, which the server cannot read; embed it with `{field}-data` \
             (kubectl config view --raw --flatten --minify)"
        ))),
        FileRefs::ResolveFrom(dir) => {
            let p = Path::new(path);
            let full = if p.is_absolute() { p.to_path_buf() } else { dir.join(p) };
            std::fs::read_to_string(&full)
                .map_err(|e| CredentialsError::Invalid(format!("cannot read `{field}` file {}: {e}", full.display())))
        }
    }
}

impl ClusterCredentials {
    /// Check the parts are well formed (URL scheme, PEM blocks) so errors surface at registration.
    pub fn validate(&self) -> Result<(), CredentialsError> {
        let url = url::Url::parse(&self.server).map_err(|e| {
            CredentialsError::Invalid(format!("server URL `{}` is not valid: {e}", self.server))
        })?;
        if url.scheme() != "https" {
            return Err(CredentialsError::Invalid(format!(
                "server URL `{}` must use https: Palisade does not send credentials in clear text",
                self.server
            )));
        }
        if url.host_str().is_none() {
            return Err(CredentialsError::Invalid(format!("server URL `{}` has no host", self.server)));
        }
        if let Some(ca) = &self.ca_pem {
            if pem_certs(ca)?.is_empty() {
                return Err(CredentialsError::Invalid("the CA bundle holds no PEM certificate".into()));
            }
        }
        match &self.auth {
            ClusterAuth::ClientCertificate { cert_pem, key_pem } => {
                if pem_certs(cert_pem)?.is_empty() {
                    return Err(CredentialsError::Invalid(
                        "the client certificate holds no PEM certificate".into(),
                    ));
                }
                let key = rustls_pemfile::private_key(&mut key_pem.as_bytes()).map_err(|e| {
                    CredentialsError::Invalid(format!("the client key is not valid PEM: {e}"))
                })?;
                if key.is_none() {
                    return Err(CredentialsError::Invalid("the client key holds no PEM private key".into()));
                }
            }
            ClusterAuth::Token { token } if token.trim().is_empty() => {
                return Err(CredentialsError::Invalid("the bearer token is empty".into()));
            }
            _ => {}
        }
        Ok(())
    }

    /// Build a Kubernetes client whose every connection goes through `egress` (resolved,
    /// vetted, then dialled to the vetted address). No request is made. Timeouts and size caps
    /// are applied per call by the caller (see `collect::kube`).
    pub fn client(&self, egress: &Arc<Egress>) -> Result<kube::Client, CredentialsError> {
        use kube::client::ConfigExt;
        let uri: http::Uri = self.server.parse().map_err(|e| {
            CredentialsError::Invalid(format!("server URL `{}` is not valid: {e}", self.server))
        })?;
        let mut config = kube::Config::new(uri);
        config.accept_invalid_certs = self.insecure_skip_tls_verify;
        config.tls_server_name = self.tls_server_name.clone();
        if let Some(ca) = &self.ca_pem {
            config.root_cert = Some(pem_certs(ca)?);
        }
        match &self.auth {
            ClusterAuth::Token { token } => {
                config.auth_info.token = Some(token.clone().into());
            }
            ClusterAuth::ClientCertificate { cert_pem, key_pem } => {
                let b64 = base64::engine::general_purpose::STANDARD;
                config.auth_info.client_certificate_data = Some(b64.encode(cert_pem));
                config.auth_info.client_key_data = Some(b64.encode(key_pem).into());
            }
            ClusterAuth::None => {}
        }
        let invalid = |e: kube::Error| CredentialsError::Invalid(format!("cannot build a client: {e}"));
        let https = config.rustls_https_connector_with_connector(egress.connector()).map_err(invalid)?;
        let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build::<_, kube::client::Body>(https);
        let service = tower::ServiceBuilder::new()
            .layer(config.base_uri_layer())
            .option_layer(config.auth_layer().map_err(invalid)?)
            .service(tower::ServiceExt::map_err(http, tower::BoxError::from));
        Ok(kube::Client::new(service, config.default_namespace))
    }
}

fn pem_certs(pem: &str) -> Result<Vec<Vec<u8>>, CredentialsError> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CredentialsError::Invalid(format!("invalid PEM certificate: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXEC: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user:
    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
"#;

    #[test]
    fn exec_plugins_are_refused_with_a_clear_message() {
        let err = credentials_from_kubeconfig(EXEC, None, &FileRefs::Refuse).unwrap_err();
        assert!(matches!(err, CredentialsError::CredentialPlugin(_, "exec")), "{err}");
        assert!(err.to_string().contains("never runs programs"));
    }

    #[test]
    fn tokens_are_read_and_never_debug_printed() {
        let yaml = EXEC.replace(
            "exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}",
            "token: s3cr3t-token",
        );
        let (ctx, creds) = credentials_from_kubeconfig(&yaml, Some("ctx"), &FileRefs::Refuse).unwrap();
        assert_eq!(ctx, "ctx");
        assert_eq!(creds.auth, ClusterAuth::Token { token: "s3cr3t-token".into() });
        assert!(!format!("{creds:?}").contains("s3cr3t"));
    }

    #[test]
    fn unknown_contexts_and_file_references_are_explained() {
        let err = credentials_from_kubeconfig(EXEC, Some("prod"), &FileRefs::Refuse).unwrap_err();
        assert!(err.to_string().contains("no context named `prod`"), "{err}");
        let yaml = EXEC
            .replace(
                "{server: \"https://127.0.0.1:6443\"}",
                "{server: \"https://x:6443\", certificate-authority: /etc/ca.crt}",
            )
            .replace("exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}", "token: t");
        let err = credentials_from_kubeconfig(&yaml, None, &FileRefs::Refuse).unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
    }

    fn with_user(user: &str) -> String {
        EXEC.replace("exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}", user)
    }

    #[test]
    fn a_token_file_is_read_on_the_cli_and_refused_on_upload() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sa.token"), "file-token\n").unwrap();
        // kubectl's spelling is `tokenFile` (camel case, unlike its neighbours).
        let yaml = with_user("tokenFile: sa.token");
        let (_, creds) =
            credentials_from_kubeconfig(&yaml, None, &FileRefs::ResolveFrom(dir.path().to_path_buf()))
                .unwrap();
        assert_eq!(creds.auth, ClusterAuth::Token { token: "file-token".into() });
        let err = credentials_from_kubeconfig(&yaml, None, &FileRefs::Refuse).unwrap_err();
        assert!(err.to_string().contains("`tokenFile` refers to the file `sa.token`"), "{err}");
        let empty = dir.path().join("empty.token");
        std::fs::write(&empty, "\n").unwrap();
        let yaml = with_user(&format!("tokenFile: {}", empty.display()));
        let err = credentials_from_kubeconfig(&yaml, None, &FileRefs::ResolveFrom(dir.path().to_path_buf()))
            .unwrap_err();
        assert!(err.to_string().contains("empty token"), "{err}");
    }

    #[test]
    fn auth_providers_impersonation_and_passwords_are_refused_each_in_words() {
        let err = credentials_from_kubeconfig(
            &with_user("auth-provider: {name: gcp, config: {cmd-path: /usr/bin/gcloud}}"),
            None,
            &FileRefs::Refuse,
        )
        .unwrap_err();
        assert!(matches!(err, CredentialsError::CredentialPlugin(_, "auth-provider")), "{err}");
        for user in
            ["{token: t, as: admin}", "{token: t, as-groups: [system:masters]}", "{token: t, as-uid: \"42\"}"]
        {
            let yaml = EXEC.replace(
                "user:\n    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}",
                &format!("user: {user}"),
            );
            let err = credentials_from_kubeconfig(&yaml, None, &FileRefs::Refuse).unwrap_err();
            assert!(err.to_string().contains("impersonates another identity"), "{user}: {err}");
        }
        let err =
            credentials_from_kubeconfig(&with_user("{username: u, password: p}"), None, &FileRefs::Refuse);
        assert!(err.unwrap_err().to_string().contains("basic authentication"));
    }

    #[test]
    fn malformed_kubeconfigs_are_explained() {
        let err = credentials_from_kubeconfig("clusters: [oops", None, &FileRefs::Refuse).unwrap_err();
        assert!(matches!(err, CredentialsError::Yaml(_)), "{err}");
        let err = credentials_from_kubeconfig("clusters: 7\n", None, &FileRefs::Refuse).unwrap_err();
        assert!(err.to_string().contains("not valid YAML"), "{err}");
        let proxied = EXEC
            .replace(
                "{server: \"https://127.0.0.1:6443\"}",
                "{server: \"https://127.0.0.1:6443\", proxy-url: \"http://127.0.0.1:3128\"}",
            )
            .replace("exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}", "token: t");
        let err = credentials_from_kubeconfig(&proxied, None, &FileRefs::Refuse).unwrap_err();
        assert!(err.to_string().contains("through the proxy"), "{err}");
    }

    #[test]
    fn plain_http_servers_are_refused() {
        let yaml = EXEC
            .replace("https://127.0.0.1:6443", "http://127.0.0.1:8080")
            .replace("exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}", "token: t");
        let err = credentials_from_kubeconfig(&yaml, None, &FileRefs::Refuse).unwrap_err();
        assert!(err.to_string().contains("must use https"), "{err}");
    }
}
