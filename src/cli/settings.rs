//! Builds the one typed configuration: defaults → TOML file → `BUURTNET_…` environment → flags.

use super::Cli;
use anyhow::Context;
use buurtnet_server::Config;

pub fn build(cli: &Cli) -> anyhow::Result<Config> {
    let mut builder = config::Config::builder();
    if let Some(path) = &cli.config {
        anyhow::ensure!(path.is_file(), "the configuration file {} does not exist", path.display());
        builder = builder.add_source(config::File::from(path.as_path()).format(config::FileFormat::Toml));
    }
    builder = builder.add_source(
        config::Environment::with_prefix("BUURTNET")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .source(Some(environment())),
    );
    let layered = builder.build().context("cannot read the configuration")?;
    let mut config: Config = layered.try_deserialize().context("the configuration is not valid")?;
    if let Some(url) = &cli.database_url {
        config.database_url = url.clone();
    }
    if let Some(bind) = &cli.bind {
        config.bind = bind.parse().with_context(|| format!("--bind '{bind}' is not an address like 127.0.0.1:8080"))?;
    }
    if let Some(g) = &cli.geodata {
        config.geodata = Some(g.clone());
    }
    if cli.log_json {
        config.log_json = true;
    }
    if let Some(g) = &config.geodata {
        anyhow::ensure!(g.is_dir(), "the geodata folder {} does not exist", g.display());
    }
    config.validate().map_err(anyhow::Error::msg)?;
    Ok(config)
}

/// The process environment, with the plain `BUURTNET_SMTP_URL` read as
/// `BUURTNET_PROVIDERS__SMTP_URL` and `BUURTNET_PUSH_ALLOWED_HOSTS` as
/// `BUURTNET_PUSH__ALLOWED_HOSTS` (the nested forms win when both are set).
fn environment() -> config::Map<String, String> {
    with_aliases(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
}

fn with_aliases(vars: impl Iterator<Item = (String, String)>) -> config::Map<String, String> {
    let mut vars: config::Map<String, String> = vars.collect();
    if let Some(url) = vars.remove("BUURTNET_SMTP_URL") {
        vars.entry("BUURTNET_PROVIDERS__SMTP_URL".to_string()).or_insert(url);
    }
    if let Some(hosts) = vars.remove("BUURTNET_PUSH_ALLOWED_HOSTS") {
        vars.entry("BUURTNET_PUSH__ALLOWED_HOSTS".to_string()).or_insert(hosts);
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::with_aliases;

    #[test]
    fn plain_smtp_url_is_an_alias() {
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>().into_iter();
        let m = with_aliases(pairs(&[("BUURTNET_SMTP_URL", "smtp://a:25")]));
        assert_eq!(m.get("BUURTNET_PROVIDERS__SMTP_URL").map(String::as_str), Some("smtp://a:25"));
        assert!(!m.contains_key("BUURTNET_SMTP_URL"));
        let m = with_aliases(pairs(&[("BUURTNET_SMTP_URL", "smtp://a:25"), ("BUURTNET_PROVIDERS__SMTP_URL", "smtp://b:25")]));
        assert_eq!(m.get("BUURTNET_PROVIDERS__SMTP_URL").map(String::as_str), Some("smtp://b:25"));
    }

    #[test]
    fn plain_push_allowed_hosts_is_an_alias() {
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>().into_iter();
        let m = with_aliases(pairs(&[("BUURTNET_PUSH_ALLOWED_HOSTS", "127.0.0.1:9000")]));
        assert_eq!(m.get("BUURTNET_PUSH__ALLOWED_HOSTS").map(String::as_str), Some("127.0.0.1:9000"));
        assert!(!m.contains_key("BUURTNET_PUSH_ALLOWED_HOSTS"));
        let m =
            with_aliases(pairs(&[("BUURTNET_PUSH_ALLOWED_HOSTS", "a.example"), ("BUURTNET_PUSH__ALLOWED_HOSTS", "b.example")]));
        assert_eq!(m.get("BUURTNET_PUSH__ALLOWED_HOSTS").map(String::as_str), Some("b.example"));
    }
}
