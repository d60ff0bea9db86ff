//! A real browser for the console's tests: Debian's headless Chromium driven through its
//! chromedriver over WebDriver (the `fantoccini` client). Pages are addressed by element ids,
//! the ones the console's templates promise to keep stable.
//!
//! Chromium and chromedriver are found at `/usr/bin/chromium` and `/usr/bin/chromedriver`, or
//! where `CHROME` and `CHROMEDRIVER` say; without them [`Browser::start`] says plainly that the
//! test is skipped and answers `None` (`.ci/run` installs both). One browser per test: CI has
//! two cores.
//!
//! Screenshots go to `target/browser-screenshots/` (or under `$CARGO_TARGET_DIR`), which CI
//! keeps.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};

/// How long chromedriver, an element, or a page reached through redirects may take to appear:
/// generous, for a CI machine busy with other tests.
const WAIT: Duration = Duration::from_secs(60);

/// Chromium's flags. This machine has no internet: without the background-networking ones,
/// Chromium keeps trying (and failing) to reach Google's services.
const CHROME_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

fn found(var: &str, default: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from(default)))
        .filter(|p| p.is_file())
}

/// Where screenshots are kept.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("browser-screenshots")
}

/// A headless Chromium session; chromedriver is killed when this is dropped.
pub struct Browser {
    client: Client,
    driver: Child,
    /// Chromium's profile, new for each browser (no cookies from an earlier run).
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a session, or, without Chromium
    /// or chromedriver, prints that `test` is skipped and answers `None`.
    pub async fn start(test: &str) -> Option<Browser> {
        let (Some(chrome), Some(driver)) = (
            found("CHROME", "/usr/bin/chromium"),
            found("CHROMEDRIVER", "/usr/bin/chromedriver"),
        ) else {
            println!(
                "{test} skipped: chromium/chromedriver not installed (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = crate::spin::free_port();
        // A process group of its own, which Chromium's processes join: a test that fails ends
        // them all on drop, not chromedriver alone (its Chromium would run on, orphaned).
        let driver = Command::new(driver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut args: Vec<String> = CHROME_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"binary": chrome, "args": args}),
        );
        let url = format!("http://127.0.0.1:{port}");
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        // chromedriver needs a moment to listen: retry the session until it does.
        let deadline = Instant::now() + WAIT;
        let mut driver = Some(driver);
        let client = loop {
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => {
                    if let Some(mut d) = driver.take() {
                        let _ = d.kill();
                        let _ = d.wait();
                    }
                    panic!("no WebDriver session with chromedriver: {e}");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Some(Browser {
            client,
            driver: driver.take().expect("chromedriver"),
            _profile: profile,
        })
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("the page opens");
    }

    /// The address the browser is at now.
    pub async fn url(&self) -> String {
        self.client.current_url().await.expect("a URL").to_string()
    }

    /// Waits until the address contains `part` (after redirects and refreshes), and answers it.
    pub async fn wait_for_url(&self, part: &str) -> String {
        self.wait_for_address(&format!("reached {part:?}"), |url| url.contains(part))
            .await
    }

    /// Waits until the address no longer contains `part` (a form's submit has moved on), and
    /// answers it. Clicking a submit button returns before the browser navigates, so a page
    /// whose address contains the next one's (`/admin/signin` and `/admin`) needs this wait.
    pub async fn wait_to_leave(&self, part: &str) -> String {
        self.wait_for_address(&format!("left {part:?}"), |url| !url.contains(part))
            .await
    }

    async fn wait_for_address(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.url().await;
            if done(&url) {
                return url;
            }
            if Instant::now() > deadline {
                panic!(
                    "the browser never {what}; it is at {url}:\n{}",
                    self.source().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element `css` selects, waited for.
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Runs `op` on the element `css` selects, finding it again when the page replaced it in
    /// between: a click that navigates (a form's submit, a redirect) swaps the document some
    /// time after the address changes, so an element found just after can go stale.
    async fn on<T, F, Fut>(&self, css: &str, what: &str, op: F) -> T
    where
        F: Fn(Element) -> Fut,
        Fut: std::future::Future<Output = Result<T, CmdError>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            match op(self.find(css).await).await {
                Ok(answer) => return answer,
                Err(e) if e.is_stale_element_reference() && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!("{what} ({css}): {e}"),
            }
        }
    }

    /// Types `text` into the field `css` selects (after clearing it).
    pub async fn fill_css(&self, css: &str, text: &str) {
        self.on(css, "the field takes text", |field| async move {
            field.clear().await?;
            field.send_keys(text).await
        })
        .await;
    }

    /// Gives the file input with id `id` the file at `path` (as choosing it in the dialog does).
    pub async fn attach(&self, id: &str, path: &std::path::Path) {
        let path = path.display().to_string();
        let path = path.as_str();
        self.on(
            &format!("#{id}"),
            "the file input takes the file",
            |input| async move { input.send_keys(path).await },
        )
        .await;
    }

    /// Waits until the element with id `id` is on the page and its text contains `part`, and
    /// answers its text.
    pub async fn wait_for_text(&self, id: &str, part: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(&format!("#{id}"))).await {
                let text = e.text().await.unwrap_or_default();
                if text.contains(part) {
                    return text;
                }
                if Instant::now() > deadline {
                    panic!("#{id} never said {part:?}; it says {text:?}");
                }
            } else if Instant::now() > deadline {
                panic!("no #{id} on the page:\n{}", self.source().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the field with id `id`.
    pub async fn fill(&self, id: &str, text: &str) {
        self.fill_css(&format!("#{id}"), text).await;
    }

    /// Chooses the option with value `value` of the drop-down with id `id`.
    pub async fn select(&self, id: &str, value: &str) {
        self.on(&format!("#{id}"), "the option exists", |list| async move {
            list.select_by_value(value).await
        })
        .await;
    }

    /// Clicks what `css` selects (a link, a button, a checkbox).
    pub async fn click_css(&self, css: &str) {
        self.on(css, "it clicks", |e| async move { e.click().await })
            .await;
    }

    /// Clicks the element with id `id`.
    pub async fn click(&self, id: &str) {
        self.click_css(&format!("#{id}")).await;
    }

    /// Whether an element with id `id` is on the page now (no waiting).
    pub async fn has(&self, id: &str) -> bool {
        self.client
            .find(Locator::Css(&format!("#{id}")))
            .await
            .is_ok()
    }

    /// The visible text of the element with id `id`.
    pub async fn text(&self, id: &str) -> String {
        self.on(
            &format!("#{id}"),
            "its text",
            |e| async move { e.text().await },
        )
        .await
    }

    /// The visible text of the whole page.
    pub async fn page_text(&self) -> String {
        self.on("body", "the page's text", |e| async move { e.text().await })
            .await
    }

    /// The page's HTML as the browser has it.
    pub async fn source(&self) -> String {
        self.client.source().await.unwrap_or_default()
    }

    /// Saves a PNG of the window as `name` (e.g. `01-signin.png`) in [`screenshot_dir`], and
    /// answers its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("the screenshot is written");
        path
    }

    /// Ends the WebDriver session (Chromium quits); chromedriver goes on drop.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leads its group (`process_group(0)`): its id is the group's.
        if let Ok(group) = i32::try_from(self.driver.id()) {
            // SAFETY: kill(2) with a negative id signals that process group and nothing else.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
