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
    /// Development mode: generate missing secrets and print a development agent token.
    #[arg(long)]
    dev: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COBROWSE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
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
    let (agent_secret, backend_secret) = match (
        config.agent_secret.clone(),
        config.backend_secret.clone(),
    ) {
        (Some(a), Some(b)) => (a, b),
        (a, b) if config.dev => (
            a.unwrap_or_else(new_customer_secret),
            b.unwrap_or_else(new_customer_secret),
        ),
        _ => {
            eprintln!(
                "cobrowse-relay: set COBROWSE_AGENT_SECRET and COBROWSE_BACKEND_SECRET (or agent_secret/backend_secret \
                 in the config file), or run with --dev to generate them"
            );
            return std::process::ExitCode::from(2);
        }
    };
    if config.dev {
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
