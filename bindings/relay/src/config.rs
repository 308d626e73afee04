//! Relay configuration: a TOML file, overridden by environment variables, overridden by flags.
//!
//! ```toml
//! listen = "127.0.0.1:8080"          # COBROWSE_LISTEN
//! agent_secret = "…"                 # COBROWSE_AGENT_SECRET: HMAC key of agent tokens
//! backend_secret = "…"               # COBROWSE_BACKEND_SECRET: bearer token of the vendor backend
//! audit_log = "/var/log/cobrowse/audit.jsonl"   # COBROWSE_AUDIT_LOG
//! webhook_url = "https://vendor.example/cobrowse/events"   # COBROWSE_WEBHOOK_URL
//! webhook_secret = "…"               # COBROWSE_WEBHOOK_SECRET: HMAC key for X-Cobrowse-Signature
//! agent_token_algorithm = "HS256"   # HS256 (agent_secret) | RS256 | ES256 (agent_token_public_key)
//! agent_token_public_key = "/etc/cobrowse/vendor.pem"   # PEM public key for RS256/ES256
//! trusted_proxies = ["10.0.0.5"]     # reverse proxies whose X-Forwarded-For names the client
//! dev = false                        # COBROWSE_DEV=1: print a development agent token and the backend token
//! allowed_origins = ["https://www.bank.example"]   # COBROWSE_ALLOWED_ORIGINS (comma-separated): CORS + WebSocket Origin
//!
//! [static_mounts]                    # COBROWSE_STATIC_MOUNTS="/demo/=dir,/agent/=dir": files served as they are
//! "/demo/" = "bindings/web/demo/site"
//!
//! [limits]
//! max_message_bytes = 4194304
//! frames_per_second = 60
//! frame_burst = 120
//! join_failures_per_agent_per_hour = 10
//! join_failures_per_agent_per_day = 20
//! join_failures_per_ip_per_hour = 30
//! join_failures_per_ip_per_day = 100
//! max_live_sessions = 100000
//! header_timeout_ms = 10000          # a request header complete within this (also keep-alive idle)
//! handshake_timeout_ms = 10000       # a WebSocket's first message within this
//! idle_timeout_ms = 60000            # a silent WebSocket is closed (pinged once silent a third of it)
//! customer_rtt_probe_ms = 30000     # a customer's round trip is measured this often (0 = never)
//! max_connections_per_ip = 256       # per IPv4 address or IPv6 /64
//! max_connections = 0                # 0 = open-file limit minus 256
//! sessions_per_ip_per_minute = 30
//! sessions_per_second = 200
//! customer_connect_secs = 60         # a session whose customer never connects ends after this
//! max_mirror_bytes = 67108864        # one session's mirror
//! max_total_mirror_bytes = 4294967296  # all mirrors
//! frame_bytes_per_second = 8388608   # frame bytes per session per second (burst 2 s)
//!
//! [policy]
//! control_ceiling = "full"           # full | partial | none
//! inactivity_timeout_secs = 1800
//! join_window_secs = 600            # how long an ID admits the first agent (0 = until inactivity)
//! agent_grace_period_secs = 120
//! highlight_lifetime_secs = 180
//! allowed_domains = ["example.com", "*.example.com"]
//! agent_invites = false
//! max_agents = 8
//! one_session_per_agent = true
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cobrowse_engine::session::{ControlCeiling, DomainPattern, SessionPolicy};
use serde::Deserialize;

/// Everything the relay can be told.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// HMAC-SHA256 key that vendor backends sign agent tokens with.
    pub agent_secret: Option<String>,
    /// Bearer token the vendor backend uses to end sessions.
    pub backend_secret: Option<String>,
    /// Append session events here, one JSON object per line.
    pub audit_log: Option<PathBuf>,
    /// POST every session event (the audit log's JSON object) to this URL (`http` or `https`).
    pub webhook_url: Option<String>,
    /// Sign webhook bodies with HMAC-SHA256 under this key (`X-Cobrowse-Signature: sha256=…`).
    pub webhook_secret: Option<String>,
    /// The agent-token algorithm: `HS256` (with `agent_secret`), `RS256` or `ES256` (with
    /// `agent_token_public_key`). Pinned: tokens of any other algorithm are refused.
    pub agent_token_algorithm: String,
    /// PEM public key of the vendor's signing key, for `RS256` / `ES256`.
    pub agent_token_public_key: Option<PathBuf>,
    /// Reverse proxies whose `X-Forwarded-For` names the client: for a connection from one of
    /// these, the per-address limits apply to the right-most address in that header that is
    /// not itself a trusted proxy. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Development mode: a development agent token and the backend token are printed at start
    /// (missing secrets are generated for the run in any mode, with a warning).
    pub dev: bool,
    /// Web origins (`scheme://host[:port]`, or `"*"` for any) whose pages may call the HTTP API
    /// (CORS) and open WebSockets (the `Origin` check of [`crate::origins`]). The relay's own
    /// origin (the request's `Host`) is always allowed, so pages it serves itself work
    /// with the empty default.
    pub allowed_origins: Vec<String>,
    /// Directories served as static files under URL prefixes (`"/demo/"` -> a directory),
    /// see [`crate::static_files`]. Empty by default: the relay then serves no files.
    pub static_mounts: std::collections::BTreeMap<String, PathBuf>,
    /// Abuse limits.
    pub limits: Limits,
    /// Session policy (the administrator's settings).
    pub policy: PolicyConfig,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            agent_secret: None,
            backend_secret: None,
            audit_log: None,
            webhook_url: None,
            webhook_secret: None,
            dev: false,
            trusted_proxies: Vec::new(),
            agent_token_algorithm: "HS256".into(),
            agent_token_public_key: None,
            allowed_origins: Vec::new(),
            static_mounts: std::collections::BTreeMap::new(),
            limits: Limits::default(),
            policy: PolicyConfig::default(),
        }
    }
}

/// Abuse limits.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest WebSocket message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Sustained frames per second per session (token bucket rate).
    pub frames_per_second: u32,
    /// Token bucket size for frames.
    pub frame_burst: u32,
    /// Failed joins (an unknown, ended or no longer joinable session id, a bad invite) an
    /// agent identity may make per hour.
    pub join_failures_per_agent_per_hour: u32,
    /// ... and per day.
    pub join_failures_per_agent_per_day: u32,
    /// Failed joins (anything refused: tokens too) an IP address may make per hour.
    pub join_failures_per_ip_per_hour: u32,
    /// ... and per day.
    pub join_failures_per_ip_per_day: u32,
    /// Live sessions at most.
    pub max_live_sessions: usize,
    /// Milliseconds a connection has to send a complete request header, from accept and again
    /// after each response (this also bounds idle keep-alive connections).
    pub header_timeout_ms: u64,
    /// Milliseconds an upgraded WebSocket has for its first message (`Hello`, and an agent's
    /// `Join`).
    pub handshake_timeout_ms: u64,
    /// Milliseconds a WebSocket may stay silent before it is closed (one silent for a third of
    /// it is pinged, so that a live client answers).
    pub idle_timeout_ms: u64,
    /// Milliseconds between the pings that measure a customer's round trip (the agents'
    /// `Latency`); the first comes 2 s after the customer connects. 0: only the keepalive's
    /// pings measure it.
    pub customer_rtt_probe_ms: u64,
    /// Open connections per source address (an IPv4 address or an IPv6 /64).
    pub max_connections_per_ip: usize,
    /// Open connections in all (0 = the open-file limit minus 256).
    pub max_connections: usize,
    /// Sessions one source address may create per minute (a token bucket; burst the same).
    pub sessions_per_ip_per_minute: u32,
    /// Sessions all sources together may create per second (a token bucket; burst 10x).
    pub sessions_per_second: u32,
    /// Seconds a created session waits for its customer's first connection before it ends.
    pub customer_connect_secs: u64,
    /// Bytes one session's mirror may hold (its tree's footprint), frames included.
    pub max_mirror_bytes: usize,
    /// Bytes all mirrors together may hold.
    pub max_total_mirror_bytes: usize,
    /// Frame bytes one session may send per second (burst: two seconds' worth; a single
    /// frame larger than that goes through a full bucket and leaves a debt).
    pub frame_bytes_per_second: usize,
}

impl Limits {
    /// The request-header deadline.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    /// The first-message deadline of a WebSocket.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }

    /// The silence a WebSocket may keep.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// The interval of a customer's round-trip probe (zero: none).
    pub fn customer_rtt_probe(&self) -> Duration {
        Duration::from_millis(self.customer_rtt_probe_ms)
    }
}

impl Limits {
    /// The failure limits of one agent identity.
    pub fn agent_join_limits(&self) -> [crate::admission::Limit; 2] {
        use crate::admission::Limit;
        [
            Limit::per_hour(self.join_failures_per_agent_per_hour),
            Limit::per_day(self.join_failures_per_agent_per_day),
        ]
    }

    /// The failure limits of one IP address.
    pub fn ip_join_limits(&self) -> [crate::admission::Limit; 2] {
        use crate::admission::Limit;
        [
            Limit::per_hour(self.join_failures_per_ip_per_hour),
            Limit::per_day(self.join_failures_per_ip_per_day),
        ]
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 4 << 20,
            frames_per_second: 60,
            frame_burst: 120,
            join_failures_per_agent_per_hour: 10,
            join_failures_per_agent_per_day: 20,
            join_failures_per_ip_per_hour: 30,
            join_failures_per_ip_per_day: 100,
            max_live_sessions: 100_000,
            header_timeout_ms: 10_000,
            handshake_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            customer_rtt_probe_ms: 30_000,
            max_connections_per_ip: 256,
            max_connections: 0,
            sessions_per_ip_per_minute: 30,
            sessions_per_second: 200,
            customer_connect_secs: 60,
            max_mirror_bytes: 64 << 20,
            max_total_mirror_bytes: 4 << 30,
            frame_bytes_per_second: 8 << 20,
        }
    }
}

/// The policy section, in file-friendly units.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// `full`, `partial` or `none`.
    pub control_ceiling: String,
    /// Seconds without activity before a session ends (0 = never).
    pub inactivity_timeout_secs: u64,
    /// Seconds a new session's ID admits its first agent before the session ends (0 = no such
    /// limit; then only the inactivity timeout ends a session nobody joins).
    pub join_window_secs: u64,
    /// Seconds an agent may be gone before the session ends.
    pub agent_grace_period_secs: u64,
    /// Seconds a highlight stays.
    pub highlight_lifetime_secs: u64,
    /// Hosts the session may show; empty = any.
    pub allowed_domains: Vec<String>,
    /// Whether agents may invite customers.
    pub agent_invites: bool,
    /// Agents per session at most.
    pub max_agents: usize,
    /// Whether an agent handles one session at a time.
    pub one_session_per_agent: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        let p = SessionPolicy::default();
        PolicyConfig {
            control_ceiling: "full".into(),
            inactivity_timeout_secs: p.inactivity_timeout.map_or(0, |d| d.as_secs()),
            join_window_secs: p.join_window.map_or(0, |d| d.as_secs()),
            agent_grace_period_secs: p.agent_grace_period.as_secs(),
            highlight_lifetime_secs: p.highlight_lifetime.as_secs(),
            allowed_domains: Vec::new(),
            agent_invites: p.agent_invites_allowed,
            max_agents: p.max_agents,
            one_session_per_agent: p.one_session_per_agent,
        }
    }
}

/// Why a configuration could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    Read(PathBuf, std::io::Error),
    /// The file is not valid TOML for the schema.
    Syntax(String),
    /// A value is out of range or malformed; names the setting.
    Invalid(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Read(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            ConfigError::Syntax(m) => write!(f, "invalid configuration: {m}"),
            ConfigError::Invalid(m) => write!(f, "invalid configuration: {m}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl RelayConfig {
    /// Loads the file (if any), then applies environment overrides through `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<RelayConfig, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Read(path.to_owned(), e))?;
                toml::from_str(&text).map_err(|e| ConfigError::Syntax(e.to_string()))?
            }
            None => RelayConfig::default(),
        };
        if let Some(v) = env("COBROWSE_LISTEN") {
            config.listen = v.parse().map_err(|_| {
                ConfigError::Invalid(format!("COBROWSE_LISTEN `{v}` is not an address"))
            })?;
        }
        if let Some(v) = env("COBROWSE_AGENT_SECRET") {
            config.agent_secret = Some(v);
        }
        if let Some(v) = env("COBROWSE_BACKEND_SECRET") {
            config.backend_secret = Some(v);
        }
        if let Some(v) = env("COBROWSE_AUDIT_LOG") {
            config.audit_log = Some(PathBuf::from(v));
        }
        if let Some(v) = env("COBROWSE_WEBHOOK_URL") {
            config.webhook_url = Some(v);
        }
        if let Some(v) = env("COBROWSE_WEBHOOK_SECRET") {
            config.webhook_secret = Some(v);
        }
        if let Some(v) = env("COBROWSE_ALLOWED_ORIGINS") {
            config.allowed_origins = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = env("COBROWSE_STATIC_MOUNTS") {
            for pair in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let Some((prefix, dir)) = pair.split_once('=') else {
                    return Err(ConfigError::Invalid(format!(
                        "COBROWSE_STATIC_MOUNTS `{pair}` is not PREFIX=DIR"
                    )));
                };
                config
                    .static_mounts
                    .insert(prefix.trim().to_owned(), PathBuf::from(dir.trim()));
            }
        }
        if let Some(v) = env("COBROWSE_DEV") {
            config.dev = matches!(v.as_str(), "1" | "true" | "yes");
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (name, secret) in [
            ("agent_secret", &self.agent_secret),
            ("backend_secret", &self.backend_secret),
        ] {
            if let Some(s) = secret
                && s.len() < 16
            {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be at least 16 characters"
                )));
            }
        }
        if let Some(url) = &self.webhook_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(
                "webhook_url must be an http:// or https:// URL".into(),
            ));
        }
        for origin in &self.allowed_origins {
            crate::origins::check_origin_setting(origin).map_err(ConfigError::Invalid)?;
        }
        for prefix in self.static_mounts.keys() {
            crate::static_files::check_prefix(prefix).map_err(ConfigError::Invalid)?;
        }
        if self.limits.max_message_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "limits.max_message_bytes must be at least 1024".into(),
            ));
        }
        self.session_policy()?;
        Ok(())
    }

    /// The engine policy these settings describe.
    pub fn session_policy(&self) -> Result<SessionPolicy, ConfigError> {
        let p = &self.policy;
        let ceiling = match p.control_ceiling.to_ascii_lowercase().as_str() {
            "full" => ControlCeiling::Full,
            "partial" => ControlCeiling::Partial,
            "none" => ControlCeiling::None,
            other => {
                return Err(ConfigError::Invalid(format!(
                    "policy.control_ceiling `{other}` (full, partial or none)"
                )));
            }
        };
        let allowed_domains = p
            .allowed_domains
            .iter()
            .map(|d| {
                DomainPattern::parse(d)
                    .map_err(|e| ConfigError::Invalid(format!("policy.allowed_domains: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SessionPolicy {
            control_ceiling: ceiling,
            inactivity_timeout: (p.inactivity_timeout_secs > 0)
                .then(|| Duration::from_secs(p.inactivity_timeout_secs)),
            join_window: (p.join_window_secs > 0).then(|| Duration::from_secs(p.join_window_secs)),
            agent_grace_period: Duration::from_secs(p.agent_grace_period_secs),
            highlight_lifetime: Duration::from_secs(p.highlight_lifetime_secs),
            allowed_domains,
            agent_invites_allowed: p.agent_invites,
            max_agents: p.max_agents,
            one_session_per_agent: p.one_session_per_agent,
            ..SessionPolicy::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_loopback_8080() {
        let c = RelayConfig::load(None, |_| None).unwrap();
        assert_eq!(
            c.listen,
            "127.0.0.1:8080".parse::<std::net::SocketAddr>().unwrap()
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = std::env::temp_dir().join(format!("relay-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("relay.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\n[policy]\ncontrol_ceiling = \"partial\"\n",
        )
        .unwrap();
        let c = RelayConfig::load(Some(&file), |k| {
            (k == "COBROWSE_LISTEN").then(|| "127.0.0.1:9100".to_owned())
        })
        .unwrap();
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(
            c.session_policy().unwrap().control_ceiling,
            ControlCeiling::Partial
        );
    }

    #[test]
    fn bad_values_name_the_setting() {
        let e = RelayConfig::load(None, |k| {
            (k == "COBROWSE_LISTEN").then(|| "nowhere".to_owned())
        })
        .unwrap_err();
        assert!(e.to_string().contains("COBROWSE_LISTEN"), "{e}");
        let e = RelayConfig::load(None, |k| {
            (k == "COBROWSE_AGENT_SECRET").then(|| "short".to_owned())
        })
        .unwrap_err();
        assert!(e.to_string().contains("agent_secret"), "{e}");
    }
}
