//! Downloading the official files from PDOK through its INSPIRE Atom feeds: the service feed
//! names the dataset feed(s), a dataset feed names the files with their length. File names carry
//! a revision suffix that CBS moves during the year, so they are always read from the feed.
//!
//! Downloads stream to `NAME.part` beside the target, resume with an HTTP `Range` request after
//! a broken connection (and on the next run), retry with a growing pause, and are accepted only
//! when their size is the advertised length.

use futures::StreamExt;
use reqwest::{StatusCode, Url, header};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// PDOK's download service.
pub const PDOK_URL: &str = "https://service.pdok.nl";

#[derive(Debug, thiserror::Error)]
pub enum PdokError {
    #[error(
        "cannot reach {url}: {message}. Without a network connection, download the GeoPackage elsewhere and import it with `buurtnet import-areas --gpkg FILE`"
    )]
    Unreachable { url: String, message: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is not an Atom feed PDOK would serve: {message}")]
    Feed { url: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{url}: received {got} bytes but the feed announces {announced}; the file was not kept")]
    Length { url: String, got: u64, announced: u64 },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Config(String),
}

/// Which official dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// CBS Wijk- en buurtkaart: one feed per year.
    WijkBuurtKaart,
    /// CBS gebiedsindelingen: one feed, a file per year.
    Gebiedsindelingen,
}

/// A file named by a dataset feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLink {
    pub url: Url,
    pub file_name: String,
    pub length: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Pdok {
    base: Url,
    http: reqwest::Client,
    /// Attempts per download (the first included).
    pub attempts: u32,
    /// Pause before the second attempt; doubled each time.
    pub backoff: Duration,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> PdokError + '_ {
    move |source| PdokError::Io { path: path.into(), source }
}

impl Pdok {
    pub fn new(base: &str) -> Result<Pdok, PdokError> {
        let mut base = Url::parse(base).map_err(|e| PdokError::Config(format!("--pdok-url {base}: {e}")))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(Duration::from_secs(60))
            .user_agent(concat!("buurtnet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PdokError::Config(e.to_string()))?;
        Ok(Pdok { base, http, attempts: 5, backoff: Duration::from_secs(2) })
    }

    fn service_feed(&self, dataset: Dataset, year: i32) -> Result<Url, PdokError> {
        let path = match dataset {
            Dataset::WijkBuurtKaart => format!("cbs/wijkenbuurten/{year}/atom/index.xml"),
            Dataset::Gebiedsindelingen => "cbs/gebiedsindelingen/atom/v1_0/index.xml".to_string(),
        };
        self.base.join(&path).map_err(|e| PdokError::Config(e.to_string()))
    }

    async fn get_text(&self, url: &Url) -> Result<String, PdokError> {
        let resp = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| PdokError::Unreachable { url: url.to_string(), message: error_chain(&e) })?;
        if !resp.status().is_success() {
            return Err(PdokError::Status { url: url.to_string(), status: resp.status().as_u16() });
        }
        resp.text().await.map_err(|e| PdokError::Unreachable { url: url.to_string(), message: error_chain(&e) })
    }

    /// The GeoPackage of a dataset for a year, found through the service and dataset feeds.
    pub async fn find(&self, dataset: Dataset, year: i32) -> Result<FileLink, PdokError> {
        let service = self.service_feed(dataset, year)?;
        let text = self.get_text(&service).await?;
        let feeds: Vec<Url> = atom_links(&service, &text)?
            .into_iter()
            .filter(|l| l.url.path().ends_with(".xml") && (l.rel.as_deref() == Some("alternate") || l.rel.is_none()))
            .map(|l| l.url)
            .filter(|u| *u != service)
            .collect();
        if feeds.is_empty() {
            return Err(PdokError::Feed { url: service.to_string(), message: "it names no dataset feed".into() });
        }
        let mut files = Vec::new();
        for feed in feeds {
            let text = self.get_text(&feed).await?;
            for l in atom_links(&feed, &text)? {
                if l.url.path().ends_with(".gpkg") {
                    let file_name = l.url.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default().to_string();
                    files.push(FileLink { url: l.url, file_name, length: l.length });
                }
            }
        }
        let wanted = |f: &FileLink| match dataset {
            Dataset::WijkBuurtKaart => f.file_name.contains(&year.to_string()),
            Dataset::Gebiedsindelingen => f.file_name.starts_with(&format!("cbsgebiedsindelingen{year}")),
        };
        // The newest revision: file names sort by their revision suffix.
        files.retain(wanted);
        files.sort_by(|a, b| a.file_name.cmp(&b.file_name));
        files.pop().ok_or_else(|| PdokError::NotFound(format!("the PDOK feeds under {service} name no GeoPackage for {year}")))
    }

    /// Downloads `link` to `dir/FILE_NAME` (resuming `FILE_NAME.part`), reporting
    /// `(bytes so far, total)` to `progress`.
    pub async fn download(
        &self,
        link: &FileLink,
        dir: &Path,
        mut progress: impl FnMut(u64, Option<u64>),
    ) -> Result<PathBuf, PdokError> {
        let name = sanitise(&link.file_name)?;
        tokio::fs::create_dir_all(dir).await.map_err(io(dir))?;
        let target = dir.join(&name);
        let part = dir.join(format!("{name}.part"));
        if let (Some(len), Ok(meta)) = (link.length, tokio::fs::metadata(&target).await)
            && meta.len() == len
        {
            return Ok(target); // downloaded before
        }
        let mut last_error = None;
        for attempt in 0..self.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(self.backoff * 2u32.saturating_pow(attempt - 1)).await;
            }
            match self.try_download(link, &part, &mut progress).await {
                Ok(got) => {
                    if let Some(announced) = link.length
                        && got != announced
                    {
                        let _ = tokio::fs::remove_file(&part).await;
                        return Err(PdokError::Length { url: link.url.to_string(), got, announced });
                    }
                    tokio::fs::rename(&part, &target).await.map_err(io(&target))?;
                    return Ok(target);
                }
                Err(e @ (PdokError::Io { .. } | PdokError::Length { .. })) => return Err(e),
                Err(PdokError::Status { status, url }) if (400..500).contains(&status) && status != 408 && status != 429 => {
                    return Err(PdokError::Status { status, url });
                }
                Err(e) => {
                    tracing::warn!(attempt = attempt + 1, error = %e, "download interrupted; resuming");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| PdokError::NotFound(format!("{} could not be downloaded", link.url))))
    }

    /// One attempt: continues `part` from its current size. Returns the size reached.
    async fn try_download(
        &self,
        link: &FileLink,
        part: &Path,
        progress: &mut impl FnMut(u64, Option<u64>),
    ) -> Result<u64, PdokError> {
        let have = tokio::fs::metadata(part).await.map(|m| m.len()).unwrap_or(0);
        if let Some(len) = link.length
            && have == len
        {
            return Ok(have);
        }
        let url = link.url.to_string();
        let mut req = self.http.get(link.url.clone());
        if have > 0 {
            req = req.header(header::RANGE, format!("bytes={have}-"));
        }
        let resp = req.send().await.map_err(|e| PdokError::Unreachable { url: url.clone(), message: error_chain(&e) })?;
        let (mut file, mut got) = match resp.status() {
            StatusCode::PARTIAL_CONTENT if have > 0 => {
                let f = tokio::fs::OpenOptions::new().append(true).open(part).await.map_err(io(part))?;
                (f, have)
            }
            s if s.is_success() => (tokio::fs::File::create(part).await.map_err(io(part))?, 0),
            s => return Err(PdokError::Status { url, status: s.as_u16() }),
        };
        progress(got, link.length);
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    file.flush().await.map_err(io(part))?;
                    return Err(PdokError::Unreachable { url, message: error_chain(&e) });
                }
            };
            got += chunk.len() as u64;
            if let Some(len) = link.length
                && got > len
            {
                drop(file);
                return Err(PdokError::Length { url, got, announced: len });
            }
            file.write_all(&chunk).await.map_err(io(part))?;
            progress(got, link.length);
        }
        file.flush().await.map_err(io(part))?;
        file.sync_all().await.map_err(io(part))?;
        Ok(got)
    }
}

/// A file name from a feed, refused if it could leave the download folder.
fn sanitise(name: &str) -> Result<String, PdokError> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(name.to_string())
    } else {
        Err(PdokError::NotFound(format!("the feed names a file '{name}' that is not a plain file name")))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[derive(Debug, Clone)]
struct AtomLink {
    url: Url,
    rel: Option<String>,
    length: Option<u64>,
}

/// Every `<link>` of an Atom document, its `href` resolved against the document's URL.
fn atom_links(base: &Url, text: &str) -> Result<Vec<AtomLink>, PdokError> {
    let doc = roxmltree::Document::parse(text).map_err(|e| PdokError::Feed { url: base.to_string(), message: e.to_string() })?;
    if doc.root_element().tag_name().name() != "feed" {
        return Err(PdokError::Feed { url: base.to_string(), message: "the document is not an Atom <feed>".into() });
    }
    Ok(doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "link")
        .filter_map(|n| {
            let url = base.join(n.attribute("href")?).ok()?;
            Some(AtomLink {
                url,
                rel: n.attribute("rel").map(str::to_string),
                length: n.attribute("length").and_then(|l| l.trim().parse().ok()),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_read_and_resolved() {
        let base = Url::parse("http://x/cbs/wijkenbuurten/2024/atom/index.xml").unwrap();
        let feed = r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry>
            <link rel="alternate" href="wijkenbuurten_2024.xml" type="application/atom+xml"/>
            <link href="downloads/wijkenbuurten_2024_v2.gpkg" length="123"/></entry></feed>"#;
        let links = atom_links(&base, feed).unwrap();
        assert_eq!(links[0].url.as_str(), "http://x/cbs/wijkenbuurten/2024/atom/wijkenbuurten_2024.xml");
        assert_eq!(links[1].length, Some(123));
        assert!(atom_links(&base, "<html/>").is_err());
        assert!(sanitise("../etc/passwd").is_err());
        assert!(sanitise("wijkenbuurten_2024_v2.gpkg").is_ok());
    }
}
