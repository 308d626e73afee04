//! `cobrowse-relay`: starts the relay. Listens on `127.0.0.1:8080` unless `--listen` or
//! `COBROWSE_LISTEN` says otherwise.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use cobrowse_relay::auth::{AgentClaims, issue_agent_token, new_customer_secret};
use cobrowse_relay::{RelayConfig, RelayState};

#[derive(Parser)]
#[command(name = "cobrowse-relay", version, about = "Co-browsing relay server")]
struct Args {
    /// Configuration file (TOML); environment variables override it, flags override both.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080, or COBROWSE_LISTEN).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Print a development agent token and the backend token even when the secrets are
    /// configured (missing secrets are always generated for the run, with a warning).
    #[arg(long)]
    dev: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(cobrowse_relay::log_filter(
            std::env::var("COBROWSE_LOG").ok().as_deref(),
        ))
        .init();
    let args = Args::parse();
    let mut config = match RelayConfig::load(args.config.as_deref(), |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cobrowse-relay: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(l) = args.listen {
        config.listen = l;
    }
    config.dev |= args.dev;
    // Secrets the configuration lacks are generated for this run (random, so nothing is
    // weakened): the relay works at once for a trial, with the tokens printed below, but no
    // vendor backend can sign agent tokens for it. Production sets both.
    let generated_agent = config.agent_secret.is_none();
    let generated_backend = config.backend_secret.is_none();
    if (generated_agent || generated_backend) && !config.dev {
        tracing::warn!(
            "COBROWSE_AGENT_SECRET and/or COBROWSE_BACKEND_SECRET not set: using random secrets \
             for this run (set them, or agent_secret/backend_secret in the config file, so that \
             your vendor backend can sign agent tokens and end sessions)"
        );
    }
    let agent_secret = config
        .agent_secret
        .clone()
        .unwrap_or_else(new_customer_secret);
    let backend_secret = config
        .backend_secret
        .clone()
        .unwrap_or_else(new_customer_secret);
    if config.dev || generated_agent {
        let claims = AgentClaims {
            sub: "dev-agent".into(),
            name: "Development Agent".into(),
            cobrowse: true,
            exp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                + 12 * 3600,
        };
        println!(
            "development agent token (12 h): {}",
            issue_agent_token(agent_secret.as_bytes(), &claims)
        );
    }
    if config.dev || generated_backend {
        println!("development backend token: {backend_secret}");
    }
    let listen = config.listen;
    let state = match RelayState::new(config, agent_secret.into_bytes(), backend_secret) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("cobrowse-relay: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cobrowse-relay: cannot listen on {listen}: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    tracing::info!(
        "listening on http://{}",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    // Ctrl-C or SIGTERM (what service managers and container runtimes send): stop accepting,
    // let open requests finish, flush the webhook queue.
    let shutdown = async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    match cobrowse_relay::serve(listener, state, shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cobrowse-relay: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
