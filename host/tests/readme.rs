//! The README, executed: every shell example in README.md runs, in README order, in one bash
//! session that starts as a newcomer's would (a fresh home, so a fresh data directory, and the
//! repository's fixtures under the working directory), with the built `matterlink` standing in
//! for `./target/debug/matterlink`.
//!
//! - A fenced block whose language is `console` is a session: `$ ` lines are commands (a line
//!   ending in `\` goes on), the lines after one are its expected output (stdout and stderr, as a
//!   terminal shows them), compared with snapbox: `[..]` stands for what varies within a line,
//!   `...` alone on a line for lines that vary.
//! - A block in `sh` (or `bash`, `shell`) is commands only: each must succeed.
//! - Every command must exit 0 (the README shows a failure as `…; echo "exit $?"`).
//! - `no-run` in the fence's info string (```` ```sh no-run ````) leaves a block out: what needs
//!   a real iManage, a browser, another machine, or a cargo build.
//! - A command ending in `&` runs in the background with its output in a file, and the next
//!   command waits for its first line (the address `sandbox` and `serve` print).
//! - The README's ports (8099 for the sandbox, 8080 for `serve`) become free ports; outputs are
//!   compared with the README's numbers put back.
//!
//! The number of blocks run may only grow (`BLOCKS_RUN_AT_LEAST`), so a block cannot silently
//! stop running. Needs bash, openssl, curl and jq (the README's own tools): without one it says
//! that it skipped. Run only this test with `cargo test -p matterlink --test readme`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

const BIN: &str = env!("CARGO_BIN_EXE_matterlink");
const README: &str = include_str!("../../README.md");

/// Raise this when a block is added; a lower count fails.
const BLOCKS_RUN_AT_LEAST: usize = 13;

/// The ports the README names, each replaced by a free one.
const README_PORTS: [u16; 2] = [8099, 8080];

/// The tools the README's commands use besides `matterlink`.
const TOOLS: [&str; 4] = ["bash", "openssl", "curl", "jq"];

/// Marks the end of one command's output, with its exit status after it.
const SENTINEL: &str = "--readme-test-command-done--";

/// How long a background command may take to print its first line, and a command to finish:
/// bounds on waiting, so that a hung example fails instead of hanging CI, not measurements.
const BACKGROUND_START: Duration = Duration::from_secs(60);
const COMMAND_FINISH: Duration = Duration::from_secs(300);

/// One fenced shell block of the README.
#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// `console`, or `sh` and its kin.
    console: bool,
    run: bool,
    text: String,
}

/// One command of a block, with the README line it starts on and, in a console block, the
/// output the README shows for it.
#[derive(Debug)]
struct Step {
    line: usize,
    command: String,
    expected: Option<String>,
}

fn blocks(readme: &str) -> Vec<Block> {
    let line_of = |offset: usize| readme[..offset].matches('\n').count() + 1;
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (event, range) in Parser::new(readme).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let mut words = info.split_whitespace();
                let lang = words.next().unwrap_or_default();
                let console = lang == "console";
                let shell = matches!(lang, "sh" | "bash" | "shell");
                let no_run = words.any(|w| w == "no-run");
                open = Some(Block {
                    line: line_of(range.start),
                    console,
                    run: (console || shell) && !no_run,
                    text: String::new(),
                });
            }
            Event::Text(t) => {
                if let Some(b) = open.as_mut() {
                    b.text.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(b) = open.take() {
                    blocks.push(b);
                }
            }
            _ => {}
        }
    }
    blocks
}

/// The commands of a block: `$ ` lines and their output in a console block, every line that is
/// not a comment in a shell block; a line ending in `\` goes on to the next, and a here-document
/// (`<<'EOF'`) to its end.
fn steps(block: &Block) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut goes_on = GoesOn::No;
    for (i, line) in block.text.lines().enumerate() {
        let line_no = block.line + 1 + i;
        if goes_on != GoesOn::No {
            let step = steps.last_mut().unwrap();
            step.command.push('\n');
            step.command.push_str(line);
            goes_on = match goes_on {
                GoesOn::Heredoc(end) if line.trim() != end => GoesOn::Heredoc(end),
                GoesOn::Heredoc(_) => GoesOn::No,
                _ => GoesOn::after(line),
            };
            continue;
        }
        let command = if block.console {
            line.strip_prefix("$ ")
        } else {
            let t = line.trim();
            (!t.is_empty() && !t.starts_with('#')).then_some(line)
        };
        match command {
            Some(c) => {
                steps.push(Step {
                    line: line_no,
                    command: c.to_string(),
                    expected: block.console.then(String::new),
                });
                goes_on = GoesOn::after(c);
            }
            None if block.console => {
                let step = steps.last_mut().unwrap_or_else(|| {
                    panic!("README.md:{line_no}: output before the block's first `$ ` command")
                });
                let expected = step.expected.as_mut().unwrap();
                expected.push_str(line);
                expected.push('\n');
            }
            None => {}
        }
    }
    steps
}

/// Whether a command goes on past the line just read.
#[derive(Debug, PartialEq)]
enum GoesOn {
    No,
    /// The line ended in `\`.
    NextLine,
    /// A here-document is open until a line holding only this word.
    Heredoc(String),
}

impl GoesOn {
    fn after(line: &str) -> GoesOn {
        if line.ends_with('\\') {
            return GoesOn::NextLine;
        }
        // `<<EOF`, `<<-EOF`, `<<'EOF'`, `<< "EOF"`; not a here-string (`<<<`).
        let Some(at) = line.find("<<") else {
            return GoesOn::No;
        };
        let rest = &line[at + 2..];
        if rest.starts_with('<') {
            return GoesOn::No;
        }
        let rest = rest.strip_prefix('-').unwrap_or(rest).trim_start();
        let word: String = rest
            .trim_start_matches(['\'', '"'])
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if word.is_empty() {
            GoesOn::No
        } else {
            GoesOn::Heredoc(word)
        }
    }
}

/// `cmd &  # comment` → `cmd`, for a command that goes to the background.
fn background(command: &str) -> Option<&str> {
    let code = match command.find(" #") {
        Some(i) => &command[..i],
        None => command,
    };
    let code = code.trim_end();
    (code.ends_with('&') && !code.ends_with("&&")).then(|| code[..code.len() - 1].trim_end())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn missing_tools() -> Vec<&'static str> {
    TOOLS
        .into_iter()
        .filter(|tool| {
            !Command::new("bash")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect()
}

/// One bash process for the whole README, in its own process group so that everything it
/// started in the background ends with it.
struct Session {
    bash: Child,
    stdin: ChildStdin,
    /// bash's output, a line at a time, read on a thread of its own.
    lines: mpsc::Receiver<String>,
    dir: PathBuf,
    backgrounds: usize,
}

impl Session {
    fn start(dir: &Path, home: &Path) -> Session {
        let mut bash = Command::new("bash");
        bash.args(["--noprofile", "--norc"])
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0);
        let mut bash = bash.spawn().expect("bash starts");
        let stdin = bash.stdin.take().unwrap();
        let mut stdout = BufReader::new(bash.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut line = String::new();
            match stdout.read_line(&mut line) {
                Ok(n) if n > 0 && tx.send(line).is_ok() => {}
                _ => return,
            }
        });
        let mut s = Session {
            bash,
            stdin,
            lines,
            dir: dir.to_path_buf(),
            backgrounds: 0,
        };
        // Aliases as in an interactive shell; stderr where a terminal shows it, beside stdout.
        // The walkthrough's `cargo build --bin matterlink` is what `cargo test` already did: any
        // other cargo command is not run here.
        let (out, status) = s.run(
            r#"shopt -s expand_aliases; exec 2>&1
cargo() { [ "$*" = "build --bin matterlink" ] || { echo "the README test does not run: cargo $*"; return 1; }; }"#,
        );
        assert_eq!(status, 0, "the session starts: {out}");
        s
    }

    /// Runs one command; its output (stdout and stderr) and exit status. Its standard input is
    /// empty unless it redirects it, so that it cannot read the commands after it.
    fn run(&mut self, command: &str) -> (String, i32) {
        writeln!(
            self.stdin,
            "{{ {command}\n}} < /dev/null\n__status=$?; printf '\\n{SENTINEL} %d\\n' \"$__status\""
        )
        .and_then(|()| self.stdin.flush())
        .expect("bash reads the command");
        let mut out = String::new();
        loop {
            let line = match self.lines.recv_timeout(COMMAND_FINISH) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("`{command}` did not finish in {COMMAND_FINISH:?}; so far: {out}")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("bash ended during `{command}`; so far: {out}")
                }
            };
            if let Some(status) = line.trim_end().strip_prefix(&format!("{SENTINEL} ")) {
                let out = out.strip_suffix('\n').unwrap_or(&out).to_string();
                return (out, status.parse().expect("an exit status"));
            }
            out.push_str(&line);
        }
    }

    /// Runs `command` in the background with its output in a file, and waits for its first line.
    fn spawn(&mut self, command: &str) -> (String, i32) {
        self.backgrounds += 1;
        let log = format!("background-{}.log", self.backgrounds);
        // Grouped, so that a redirection of the command's own (`2> serve.log`) still holds.
        let (out, status) = self.run(&format!("{{ {command}\n}} > {log} 2>&1 &"));
        let started = Instant::now();
        let path = self.dir.join(&log);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains('\n') {
                return (out, status);
            }
            assert!(
                started.elapsed() < BACKGROUND_START,
                "`{command}` printed nothing in {BACKGROUND_START:?}: {text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: signals our own child's process group (bash and what it started).
        unsafe { libc::kill(-(self.bash.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.bash.wait();
    }
}

#[test]
fn every_shell_example_in_the_readme_runs_as_shown() {
    let missing = missing_tools();
    if !missing.is_empty() {
        eprintln!(
            "skipped: the README's examples need {} (not found: install them to run this test)",
            missing.join(", ")
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    // The README runs from the repository's root: its fixtures and the built binary where the
    // README has them; whatever the examples write stays in the temporary directory.
    std::fs::create_dir_all(dir.path().join("tests")).unwrap();
    std::os::unix::fs::symlink(
        root.join("tests/fixtures").canonicalize().unwrap(),
        dir.path().join("tests/fixtures"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("target/debug")).unwrap();
    std::os::unix::fs::symlink(BIN, dir.path().join("target/debug/matterlink")).unwrap();

    let ports: BTreeMap<u16, u16> = README_PORTS.iter().map(|&p| (p, free_port())).collect();
    let to_free = |command: &str| {
        ports.iter().fold(command.to_string(), |c, (readme, free)| {
            c.replace(&format!("127.0.0.1:{readme}"), &format!("127.0.0.1:{free}"))
                .replace(&format!("--port {readme}"), &format!("--port {free}"))
        })
    };
    let to_readme = |output: &str| {
        ports.iter().fold(output.to_string(), |o, (readme, free)| {
            o.replace(&format!("127.0.0.1:{free}"), &format!("127.0.0.1:{readme}"))
        })
    };

    let assert = snapbox::Assert::new()
        .normalize_paths(false)
        .palette(snapbox::report::Palette::plain());
    let mut session = Session::start(dir.path(), home.path());
    let mut failures = Vec::new();
    let mut ran = 0;
    for block in blocks(README) {
        if !block.run {
            assert!(
                !block.text.lines().any(|l| l.starts_with("$ ")) || block.console,
                "README.md:{}: a block of `$ ` commands is a `console` block (or `console \
                 no-run`), so that this test runs it or is told not to",
                block.line
            );
            continue;
        }
        ran += 1;
        for step in steps(&block) {
            let command = to_free(&step.command);
            let (output, status) = match background(&command) {
                Some(c) => session.spawn(c),
                None => session.run(&command),
            };
            let output = to_readme(&output);
            if status != 0 {
                failures.push(format!(
                    "README.md:{}: `{}` exited {status}:\n{output}",
                    step.line, step.command
                ));
                continue;
            }
            if let Some(expected) = step.expected {
                let actual = snapbox::Data::text(format!("{}\n", output.trim_end()));
                let expected = snapbox::Data::text(format!("{}\n", expected.trim_end()));
                if let Err(e) = assert.try_eq(Some(&"actual"), actual, expected) {
                    failures.push(format!("README.md:{}: `{}`:\n{e}", step.line, step.command));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} README example(s) differ from what they print:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        ran >= BLOCKS_RUN_AT_LEAST,
        "only {ran} README blocks ran, fewer than {BLOCKS_RUN_AT_LEAST}: a block stopped running"
    );
    eprintln!("{ran} README blocks ran");
}

/// The runner's reading of a README, on a sample: which blocks run, where commands start and
/// end, what output each expects, and which commands go to the background.
#[test]
fn blocks_and_commands_are_read_as_the_module_says() {
    let sample = "# T\n\n```sh\nexport A=1   \n# a comment\nsleep 1 &  # why\n```\n\n\
                  ```console\n$ echo a \\\n    b\na b\n\n$ true\n```\n\n\
                  ```sh no-run\ncargo test\n```\n\n```json\n{}\n```\n\n  ```console no-run\n  $ x\n  ```\n";
    let blocks = blocks(sample);
    let run: Vec<(usize, bool, bool)> = blocks.iter().map(|b| (b.line, b.console, b.run)).collect();
    assert_eq!(
        run,
        [
            (3, false, true),
            (9, true, true),
            (17, false, false),
            (21, false, false),
            (25, true, false)
        ]
    );
    let sh: Vec<(usize, String)> = steps(&blocks[0])
        .into_iter()
        .map(|s| (s.line, s.command))
        .collect();
    assert_eq!(
        sh,
        [
            (4, "export A=1   ".to_string()),
            (6, "sleep 1 &  # why".to_string())
        ]
    );
    assert_eq!(background(&sh[1].1), Some("sleep 1"));
    assert_eq!(background("a && b"), None);
    assert_eq!(background("echo '#' &&"), None);
    let console = steps(&blocks[1]);
    assert_eq!(console.len(), 2);
    assert_eq!(console[0].command, "echo a \\\n    b");
    assert_eq!(console[0].expected.as_deref(), Some("a b\n\n"));
    assert_eq!(
        (console[1].line, console[1].expected.as_deref()),
        (14, Some(""))
    );
    let heredoc = Block {
        line: 1,
        console: false,
        run: true,
        text: "cat > a.toml <<'EOF'\nx = 1\n# not a comment here\nEOF\ncat a.toml\ncat <<< word\n"
            .into(),
    };
    let commands: Vec<String> = steps(&heredoc).into_iter().map(|s| s.command).collect();
    assert_eq!(
        commands,
        [
            "cat > a.toml <<'EOF'\nx = 1\n# not a comment here\nEOF",
            "cat a.toml",
            "cat <<< word"
        ]
    );
}
