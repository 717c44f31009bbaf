//! `palisade sim`: serve a sample directory or a generated cluster as a Kubernetes API over
//! HTTPS, and write a kubeconfig for it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::sim::generate::{self, GenerateSpec};
use crate::sim::{sample, Access, ClusterData, FaultRule, SimConfig, SimServer};

/// Arguments of `palisade sim`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["from", "sample", "generate"])))]
pub struct SimArgs {
    /// Serve this sample directory or .tar.gz (kubectl-style YAML + manifests/ + kubelet/ + sim.yaml).
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// Serve a bundled sample by name: kubeadm-default, hardened, legacy, managed.
    #[arg(long, value_name = "NAME")]
    pub sample: Option<String>,
    /// Generate a synthetic cluster, deterministic by seed:
    /// `nodes=N,namespaces=N,pods=N,roles=N,bindings=N,netpols=N,seed=S` (omitted keys keep defaults).
    #[arg(long, value_name = "SPEC")]
    pub generate: Option<String>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Write a kubeconfig for the simulator here (contexts `<name>` token, `<name>-cert` certificate).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Lowest TLS version accepted: 1.2 or 1.3.
    #[arg(long, value_name = "VERSION")]
    pub min_tls: Option<String>,
    /// Bearer token to accept (default: the sample's, else random).
    #[arg(long, env = "PALISADE_SIM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Refuse the token identity these resources (403), e.g. `--deny secrets --deny nodes/proxy`.
    #[arg(long, value_name = "RESOURCE")]
    pub deny: Vec<String>,
    /// Inject a fault: `resource=pods,latency=2s`, `path=/version,status=503`,
    /// `resource=secrets,drop,times=1`, `resource=pods,slow=1024/100ms`. Repeatable.
    #[arg(long, value_name = "SPEC")]
    pub fault: Vec<String>,
}

/// Run `palisade sim` until interrupted.
pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(serve(args))
}

async fn serve(args: SimArgs) -> anyhow::Result<ExitCode> {
    let (cluster, warnings) = load(&args)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let mut config = SimConfig::new(cluster).listen(args.listen);
    if let Some(v) = &args.min_tls {
        config = config.min_tls_version(v);
    }
    if let Some(t) = &args.token {
        config.token = Some(t.clone());
    }
    if !args.deny.is_empty() {
        let mut access = config.token_identity.access.clone();
        access.deny.extend(args.deny.iter().cloned());
        config = config.token_access(Access { allow: access.allow, deny: access.deny });
    }
    for spec in &args.fault {
        config = config.fault(FaultRule::parse(spec).map_err(anyhow::Error::msg)?);
    }
    let handle = SimServer::start(config).await?;
    println!("simulating cluster `{}` at {}", handle.name, handle.url);
    println!("{}", summary(handle.cluster()));
    if let (Some(first), n) = (handle.endpoints.first(), handle.endpoints.len()) {
        let kubelets = handle.endpoints.iter().filter(|e| e.service == "kubelet").count();
        println!(
            "node endpoints: {n} on loopback ({kubelets} kubelets, from {}), for probes; nodes report their loopback addresses",
            first.addr
        );
    }
    if let Some(port) = handle.ssh_port {
        println!("nodes' SSH servers: every node on port {port} (scan with --ssh-port {port})");
    }
    if let Some(path) = &args.kubeconfig_out {
        write_private(path, &handle.kubeconfig())?;
        println!("kubeconfig written to {} (contexts `{1}` and `{1}-cert`)", path.display(), handle.name);
        println!("try: kubectl --kubeconfig {} get pods -A", path.display());
    } else {
        println!("no --kubeconfig-out given: the bearer token is not printed (it is a credential)");
    }
    println!("press Ctrl-C to stop");
    tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
    handle.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Build the cluster to serve, with any warnings from loading it.
fn load(args: &SimArgs) -> anyhow::Result<(ClusterData, Vec<String>)> {
    if let Some(spec) = &args.generate {
        let spec: GenerateSpec = spec.parse().map_err(anyhow::Error::msg)?;
        let started = std::time::Instant::now();
        let cluster = generate::generate(&spec);
        eprintln!("generated `{}` in {:.1?}", cluster.name, started.elapsed());
        return Ok((cluster, Vec::new()));
    }
    let dir = match (&args.from, &args.sample) {
        (Some(dir), _) => dir.clone(),
        (None, Some(name)) => {
            let dir = sample::samples_dir().join(name);
            if !dir.is_dir() {
                anyhow::bail!(
                    "no bundled sample named `{name}` in {} (available: {})",
                    sample::samples_dir().display(),
                    sample::BUNDLED.join(", ")
                );
            }
            dir
        }
        (None, None) => anyhow::bail!("say what to serve: --from DIR, --sample NAME or --generate SPEC"),
    };
    let builder = sample::load_builder(&dir)?;
    let warnings = builder.warnings().to_vec();
    Ok((builder.finish(), warnings))
}

/// One line of object counts.
fn summary(cluster: &ClusterData) -> String {
    crate::sim::resources::RESOURCES
        .iter()
        .enumerate()
        .filter(|(i, _)| cluster.count(*i) > 0)
        .map(|(i, r)| format!("{} {}", cluster.count(i), r.plural))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Write a file only its owner can read (it holds a token and a private key). It is written
/// under a temporary name and renamed, so a process waiting for it never reads half a file.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("partial");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.sync_all().with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
