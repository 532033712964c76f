//! Server settings from three sources: flags override environment variables (clap reads both),
//! which override the `--config` TOML file, which overrides the built-in defaults.
//!
//! The flags have no clap defaults on purpose: a default would hide whether the user said
//! anything, and then the file could never apply.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use crate::Failure;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where the partitions keep their logs and snapshots [default: ./data].
    #[arg(long, env = "BATON_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the Zeebe gRPC gateway [default: 127.0.0.1:26500].
    #[arg(long, env = "BATON_GRPC_ADDR", value_name = "HOST:PORT")]
    pub grpc_addr: Option<SocketAddr>,
    /// Address of the HTTP server (health and the REST API) [default: 127.0.0.1:8080].
    #[arg(long, env = "BATON_HTTP_ADDR", value_name = "HOST:PORT")]
    pub http_addr: Option<SocketAddr>,
    /// Number of partitions [default: the data directory's, or one per core for a new one].
    #[arg(long, env = "BATON_PARTITIONS", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub partitions: Option<u32>,
    /// A TOML file with the same settings (data_dir, grpc_addr, http_addr, partitions).
    #[arg(long, env = "BATON_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The `--config` file; every key optional, unknown keys refused so typos do not go unnoticed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(alias = "data-dir")]
    data_dir: Option<PathBuf>,
    #[serde(alias = "grpc-addr")]
    grpc_addr: Option<SocketAddr>,
    #[serde(alias = "http-addr")]
    http_addr: Option<SocketAddr>,
    partitions: Option<u32>,
}

/// The settings `baton serve` runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub partitions: u32,
}

impl ServeArgs {
    pub fn resolve(&self) -> Result<Settings, Failure> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = self.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("./data"));
        let partitions = self
            .partitions
            .or(file.partitions)
            .or_else(|| baton_runtime::stored_partition_count(&data_dir))
            .unwrap_or_else(default_partitions);
        if partitions == 0 {
            return Err(Failure::usage("partitions must be at least 1"));
        }
        Ok(Settings {
            data_dir,
            grpc_addr: self.grpc_addr.or(file.grpc_addr).unwrap_or(([127, 0, 0, 1], 26500).into()),
            http_addr: self.http_addr.or(file.http_addr).unwrap_or(([127, 0, 0, 1], 8080).into()),
            partitions,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Failure::usage(format!("cannot read config file {}: {error}", path.display())))?;
    toml::from_str(&text).map_err(|error| Failure::usage(format!("invalid config file {}: {error}", path.display())))
}

/// One partition per core: each partition is one thread processing its share of the instances.
fn default_partitions() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1).min(64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ServeArgs {
        ServeArgs { data_dir: None, grpc_addr: None, http_addr: None, partitions: None, config: None }
    }

    #[test]
    fn defaults() {
        let settings = args().resolve().unwrap();
        assert_eq!(settings.data_dir, PathBuf::from("./data"));
        assert_eq!(settings.grpc_addr.to_string(), "127.0.0.1:26500");
        assert_eq!(settings.http_addr.to_string(), "127.0.0.1:8080");
        assert!(settings.partitions >= 1);
    }

    #[test]
    fn an_existing_data_dir_keeps_its_partition_count() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("baton-runtime.json"), r#"{"format":1,"partitions":3}"#).unwrap();
        let mut args = args();
        args.data_dir = Some(dir.path().to_path_buf());
        assert_eq!(args.resolve().unwrap().partitions, 3);
        args.partitions = Some(5);
        assert_eq!(args.resolve().unwrap().partitions, 5, "an explicit count is what the user asked for");
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baton.toml");
        std::fs::write(&path, "data_dir = \"/var/lib/baton\"\ngrpc-addr = \"0.0.0.0:1234\"\npartitions = 3\n").unwrap();
        let mut args = args();
        args.config = Some(path.clone());
        args.partitions = Some(5);
        let settings = args.resolve().unwrap();
        assert_eq!(settings.data_dir, PathBuf::from("/var/lib/baton"));
        assert_eq!(settings.grpc_addr.to_string(), "0.0.0.0:1234");
        assert_eq!(settings.partitions, 5);

        std::fs::write(&path, "data_dri = \"x\"\n").unwrap();
        let failure = args.resolve().unwrap_err();
        assert_eq!(failure.exit_code, 2);
    }
}
