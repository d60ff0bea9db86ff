//! The set-up page's model: every input with its value, where the value comes from and its
//! error, the choices iManage offers, the previews and the checks.

use askama::Template;

use super::connection;
use super::draft::Draft;
use crate::console::page::{self, Chrome};
use crate::console::Ctx;
use crate::fields::MappableField;
use crate::http_parts::Reply;
use crate::model::{Client, Matter};
use crate::naming::NameTemplate;
use crate::platform::Platform;
use crate::saved_settings::{self, Saved};

/// One input: its element id, form name, value, source and error.
pub struct Input {
    /// The element id (`close_prefix`, `library`, `map-title`).
    pub id: String,
    /// The form field's name.
    pub name: String,
    /// The value shown.
    pub value: String,
    /// Where the value comes from, for people.
    pub source: String,
    /// Why saving refused it.
    pub error: Option<String>,
    /// The choices of a drop-down; empty for a text input.
    pub options: Vec<Opt>,
    /// The id of the element console.js previews a text input's value in (`data-preview`).
    pub preview: Option<&'static str>,
    /// The id of the button console.js clicks when a drop-down changes (`data-submit`).
    pub submit: Option<&'static str>,
}

impl Input {
    /// What `aria-describedby` names: the source line, and the error when there is one.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if !self.source.is_empty() {
            ids.push(format!("{}-source", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }

    /// Whether it is a ticked checkbox.
    pub fn checked(&self) -> bool {
        self.value == "true"
    }
}

/// One choice of a drop-down.
pub struct Opt {
    /// The value sent.
    pub value: String,
    /// What is shown.
    pub label: String,
    /// Whether it is the current choice.
    pub selected: bool,
}

fn options(choices: &[(&str, &str)], current: &str) -> Vec<Opt> {
    let mut out: Vec<Opt> = choices
        .iter()
        .map(|(v, l)| Opt {
            value: v.to_string(),
            label: l.to_string(),
            selected: *v == current,
        })
        .collect();
    // A value the list does not have (saved earlier, or by the deployment) is still shown.
    if !current.is_empty() && !out.iter().any(|o| o.selected) {
        out.push(Opt {
            value: current.into(),
            label: format!("{current} (as configured)"),
            selected: true,
        });
    }
    out
}

/// What makes a field a row of the template table: its matter type.
pub struct RowOf {
    /// The matter type.
    pub matter_type: String,
    /// A slug of it for element ids.
    pub slug: String,
}

/// One line of the Verify table.
pub struct CheckRow {
    /// Passed (✓ or ⚠).
    pub ok: bool,
    /// `✓ configuration: loaded …` as check-connection says it, without the fix.
    pub text: String,
    /// What to do, for a ✗.
    pub fix: String,
}

/// A deployment fact: a key and what may be shown of it.
pub struct Fact {
    /// The `wasi:config` key.
    pub key: &'static str,
    /// Its value, or only `set`/`not set` for a secret.
    pub shown: String,
}

/// How a field is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A text input, or a drop-down when the input has options.
    Choice,
    /// The library: a choice with the button that shows its templates.
    Library,
    /// A checkbox.
    Flag,
    /// A textarea (JSON).
    Textarea,
    /// The write-only password.
    Password,
}

/// A server-side preview below a field, which console.js keeps up to date.
pub struct Preview {
    /// The output element's id.
    pub id: &'static str,
    /// What precedes it.
    pub intro: &'static str,
    /// The preview for the current value.
    pub text: String,
}

/// One labelled field of the form.
pub struct Field {
    /// Its input.
    pub input: Input,
    /// Its label.
    pub label: &'static str,
    /// How it is shown.
    pub kind: Kind,
    /// A live preview, for the close prefix and the name template.
    pub preview: Option<Preview>,
    /// A hint below it.
    pub hint: Option<&'static str>,
    /// Set for a row of the template table.
    pub row: Option<RowOf>,
}

/// A piece of the form, in order: the page is one loop over these, so each kind of markup is
/// compiled once (the component's size budget).
pub enum Block {
    /// A section begins: its heading's id and text.
    Open(&'static str, &'static str),
    /// A section ends.
    Close,
    /// The connection's status and the Connect link.
    Status,
    /// What the deployment sets.
    Facts,
    /// Where a composed setting's value comes from, and its error.
    Note(Input),
    /// Client, matter and type, locked to custom1..3.
    Locked,
    /// The template table begins; its rows are fields with `row` set.
    Templates,
    /// The template table ends.
    TemplatesEnd,
    /// The button adding the new matter type's row.
    Add,
    /// A field.
    Field(Field),
}

#[derive(Template)]
#[template(path = "console/setup.html", whitespace = "minimize")]
struct SetupPage {
    chrome: Chrome,
    saved: Option<u64>,
    general_errors: Vec<String>,
    connected: bool,
    status: String,
    problem: Option<String>,
    facts: Vec<Fact>,
    blocks: Vec<Block>,
    checks: Option<Vec<CheckRow>>,
}

/// `2026-12-06 05:30 UTC`.
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}

fn source(p: &dyn Platform, saved: Option<&Saved>, key: &str) -> String {
    if let Some(s) = saved.filter(|s| s.values.contains_key(key)) {
        return format!(
            "Saved in the console by {} at {}",
            s.saved_by,
            utc(s.saved_at)
        );
    }
    match p.config_deployed(key) {
        Ok(Some(v)) if !v.trim().is_empty() => "Set by the deployment".into(),
        Ok(_) => "Default".into(),
        Err(e) => format!("Unknown: {}", e.message()),
    }
}

/// What the form is made of, in order: one table read by one loop, rather than code per field
/// (the component's size budget).
enum Spec {
    /// A section begins.
    Open(&'static str, &'static str),
    /// A section ends.
    Close,
    /// A block without an input of its own.
    Plain(fn() -> Block),
    /// A text input (or a drop-down when iManage offers choices): key, label.
    Text(&'static str, &'static str),
    /// A checkbox: key, label.
    Flag(&'static str, &'static str),
    /// A drop-down: key, label, choices.
    Select(
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    ),
    /// A field built apart (library, password, previews, mapping, templates): its key.
    Special(&'static str),
}

const FORM: &[Spec] = &[
    Spec::Open("connection", "1. Connection"),
    Spec::Plain(|| Block::Status),
    Spec::Select(
        "imanage_auth",
        "How matterlink signs in",
        &[
            ("", "Service account (the default)"),
            ("service_account", "Service account"),
            ("oauth", "OAuth: an administrator connects"),
        ],
    ),
    Spec::Text("imanage_username", "Service account username"),
    Spec::Special("imanage_password"),
    Spec::Special("imanage_library"),
    Spec::Plain(|| Block::Facts),
    Spec::Close,
    Spec::Open("integration", "2. Integration settings"),
    Spec::Flag(
        "auto_create",
        "Create a workspace automatically when a matter is opened",
    ),
    Spec::Special("close_prefix"),
    Spec::Select(
        "close_action",
        "On close, also",
        &[
            ("", "Nothing besides the prefix (the default)"),
            ("none", "Nothing besides the prefix"),
            ("view", "Make the workspace view-only"),
            ("disable_lookup", "Disable the matter's lookup value"),
            ("flag:custom25", "Set the flag custom25"),
            ("flag:custom26", "Set the flag custom26"),
            ("flag:custom27", "Set the flag custom27"),
            ("flag:custom28", "Set the flag custom28"),
        ],
    ),
    Spec::Select(
        "my_matters_on_close",
        "On close, My Matters",
        &[
            ("", "Keep it on My Matters (the default)"),
            ("keep", "Keep it on My Matters"),
            ("remove", "Take it off My Matters"),
        ],
    ),
    Spec::Select(
        "owner_policy",
        "Default workspace owner",
        &[
            ("", "The service account (the default)"),
            ("service_account", "The service account"),
            ("current_user", "The current user"),
        ],
    ),
    Spec::Special("workspace_name"),
    Spec::Text(
        "matter_types",
        "Matter types the integration applies to (comma-separated; empty: all)",
    ),
    Spec::Flag(
        "require_template",
        "Refuse a matter type without a template",
    ),
    Spec::Flag(
        "sync_fields_on_update",
        "Rewrite every mapped field when a matter changes",
    ),
    Spec::Flag(
        "my_matters",
        "Put new workspaces on their owner's My Matters",
    ),
    Spec::Close,
    Spec::Open("mapping", "3. Metadata mapping"),
    Spec::Special("field_map"),
    Spec::Plain(|| Block::Locked),
    Spec::Special("map"),
    Spec::Special("clients_field"),
    Spec::Close,
    Spec::Open("destination", "4. Document destination"),
    Spec::Text("root_folder", "Folder under the workspace"),
    Spec::Text(
        "document_folder",
        "Folder for invoices and generated documents",
    ),
    Spec::Close,
    Spec::Open("templates", "5. Matter type template mapping"),
    Spec::Special("templates"),
    Spec::Special("library_routes"),
    Spec::Close,
];

/// Builds inputs: what every input needs to know of the form's state.
struct Builder<'a> {
    p: &'a dyn Platform,
    saved: Option<Saved>,
    errors: &'a [(String, String)],
    d: &'a Draft,
    /// The library's templates as (id, label), for the template drop-downs.
    templates: Vec<(String, String)>,
}

impl Builder<'_> {
    /// An input for configuration key `key` (its source), element `id`, named `key`.
    #[inline(never)]
    fn input(&self, key: &str, id: &str, value: &str, options: Vec<Opt>) -> Input {
        let mut error = None;
        for (f, m) in self.errors {
            if f == id {
                error = Some(m.clone());
                break;
            }
        }
        Input {
            id: id.to_string(),
            name: key.to_string(),
            value: value.to_string(),
            source: source(self.p, self.saved.as_ref(), key),
            error,
            options,
            preview: None,
            submit: None,
        }
    }

    /// A template drop-down (free text when iManage offered none) named `name`.
    fn template(&self, id: &str, name: &str, current: &str) -> Input {
        let options = if self.templates.is_empty() {
            Vec::new()
        } else {
            owned_options(&self.templates, current, ("", "Choose a template"))
        };
        let mut i = self.input("templates", id, current, options);
        i.name = name.to_string();
        i.source = String::new();
        i
    }

    /// The form's input of `key`, with its current value.
    fn of(&self, key: &str, options: Vec<Opt>) -> Input {
        let value = if key == "matter_types" {
            &self.d.matter_types
        } else {
            self.d.get(key)
        };
        self.input(key, key, value, options)
    }
}

#[inline(never)]
fn field(input: Input, label: &'static str, kind: Kind) -> Block {
    Block::Field(Field {
        input,
        label,
        kind,
        preview: None,
        hint: None,
        row: None,
    })
}

/// The choices `(value, label)` as options, each given as its own strings.
fn owned_options(choices: &[(String, String)], current: &str, first: (&str, &str)) -> Vec<Opt> {
    let mut c: Vec<(&str, &str)> = vec![first];
    for (v, l) in choices {
        c.push((v, l));
    }
    options(&c, current)
}

/// Renders the page for `d` with `errors` (form field id → message; `""` for none).
pub fn render(
    p: &dyn Platform,
    ctx: &Ctx,
    d: &Draft,
    errors: &[(String, String)],
    status: u16,
    verify: bool,
    saved_notice: Option<u64>,
) -> Reply {
    let offered = connection::offered(p, d.get("imanage_library"));
    let mut templates = Vec::new();
    for t in &offered.templates {
        templates.push((t.id.clone(), format!("{} ({})", t.name, t.id)));
    }
    let b = Builder {
        p,
        saved: saved_settings::load(p).ok().flatten(),
        errors,
        d,
        templates,
    };
    let (connected, status_line) = connection::status(p);
    let mut blocks = Vec::new();
    for spec in FORM {
        match spec {
            Spec::Open(id, title) => blocks.push(Block::Open(id, title)),
            Spec::Close => blocks.push(Block::Close),
            Spec::Plain(make) => blocks.push(make()),
            Spec::Text(key, label) => {
                blocks.push(field(b.of(key, Vec::new()), label, Kind::Choice))
            }
            Spec::Flag(key, label) => blocks.push(field(b.of(key, Vec::new()), label, Kind::Flag)),
            Spec::Select(key, label, choices) => {
                let opts = options(choices, d.get(key));
                blocks.push(field(b.of(key, opts), label, Kind::Choice));
            }
            Spec::Special(key) => special(&b, key, &offered.libraries, &mut blocks),
        }
    }
    let checks = verify.then(|| {
        let mut rows = Vec::new();
        for l in crate::check::report(p).lines {
            rows.push(CheckRow {
                ok: l.ok(),
                text: format!("{} {}: {}", l.mark, l.what, l.detail),
                fix: l.fix.unwrap_or_default(),
            });
        }
        rows
    });
    let mut general_errors = Vec::new();
    for (f, m) in errors {
        if f.is_empty() {
            general_errors.push(m.clone());
        }
    }
    let page = SetupPage {
        chrome: Chrome::new(ctx, "setup"),
        saved: saved_notice,
        general_errors,
        connected,
        status: status_line,
        problem: offered.problem,
        facts: facts(p),
        blocks,
        checks,
    };
    page::render(status, &page)
}

/// The fields built apart from the table.
fn special(b: &Builder<'_>, key: &str, libraries: &[String], blocks: &mut Vec<Block>) {
    let d = b.d;
    match key {
        "imanage_password" => {
            let mut i = b.input(key, key, "", Vec::new());
            i.source = password_source(b.p, b.saved.as_ref());
            blocks.push(field(i, "Service account password", Kind::Password));
        }
        "imanage_library" => {
            let library = d.get(key);
            let mut choices = Vec::new();
            for l in libraries {
                choices.push((l.as_str(), l.as_str()));
            }
            let opts = if choices.is_empty() {
                Vec::new()
            } else {
                options(&choices, library)
            };
            let mut i = b.input(key, "library", library, opts);
            i.submit = Some("show-library");
            blocks.push(field(i, "Library", Kind::Library));
        }
        "close_prefix" | "workspace_name" => {
            let value = d.get(key);
            let mut i = b.of(key, Vec::new());
            let (label, preview, hint) = if key == "close_prefix" {
                let prefix = if value.is_empty() { "CLOSED" } else { value };
                (
                    "Prefix on closed matters' workspaces",
                    Preview {
                        id: "close-preview",
                        intro: "Preview: “Smith v Jones” →",
                        text: crate::closing::closed_name(prefix, "Smith v Jones"),
                    },
                    None,
                )
            } else {
                (
                    "Workspace name template",
                    Preview {
                        id: "name-preview",
                        intro: "Preview:",
                        text: name_preview(value),
                    },
                    Some("Placeholders: {title}, {matter_id}, {client_id}, {client_name}, {file_reference}, {matter_type}."),
                )
            };
            i.preview = Some(preview.id);
            blocks.push(Block::Field(Field {
                input: i,
                label,
                kind: Kind::Choice,
                preview: Some(preview),
                hint,
                row: None,
            }));
        }
        "field_map" => blocks.push(Block::Note(b.input(key, key, "", Vec::new()))),
        "templates" => {
            blocks.push(Block::Note(b.input(key, key, "", Vec::new())));
            blocks.push(Block::Templates);
            for (t, id) in &d.templates {
                let slug = slug(t);
                let mut row = field(
                    b.template(&format!("template-{slug}"), "template.id", id),
                    "Template",
                    Kind::Choice,
                );
                if let Block::Field(f) = &mut row {
                    f.row = Some(RowOf {
                        matter_type: t.clone(),
                        slug,
                    });
                }
                blocks.push(row);
            }
            blocks.push(Block::TemplatesEnd);
            let mut new_type = b.input("templates", "new-matter-type", "", Vec::new());
            new_type.name = "new_matter_type".into();
            new_type.source = String::new();
            blocks.push(field(new_type, "New matter type", Kind::Choice));
            let new_template = b.template("new-template", "new_template", "");
            let label = if new_template.options.is_empty() {
                "Its template (id, e.g. ACTIVE!200)"
            } else {
                "Its template"
            };
            blocks.push(field(new_template, label, Kind::Choice));
            blocks.push(Block::Add);
        }
        "map" => {
            let mut choices = Vec::new();
            for c in connection::field_choices() {
                choices.push((c.name, c.label));
            }
            for f in MappableField::ALL {
                let v = d.map.get(&f).map_or("", String::as_str);
                let opts = owned_options(&choices, v, ("", "Not mapped"));
                let mut i = b.input("field_map", &format!("map-{}", f.key()), v, opts);
                i.name = format!("map.{}", f.key());
                blocks.push(field(i, f.label(), Kind::Choice));
            }
        }
        "clients_field" => {
            let mut choices = Vec::new();
            for c in connection::text_fields() {
                choices.push((c.name, c.label));
            }
            let opts = owned_options(&choices, d.get(key), ("", "None"));
            blocks.push(field(
                b.of(key, opts),
                "Field keeping all of a matter's clients",
                Kind::Choice,
            ));
        }
        _ => blocks.push(Block::Field(Field {
            input: b.of(key, Vec::new()),
            label: "Library routes (JSON, for firms with several libraries)",
            kind: Kind::Textarea,
            preview: None,
            row: None,
            hint: Some(r#"e.g. [{"library": "BRANCH", "when": {"matter_type": "Conveyancing"}, "templates": {"Conveyancing": "BRANCH!300"}}]"#),
        })),
    }
}

/// The name a sample matter's workspace gets under `template` (empty: the default).
fn name_preview(template: &str) -> String {
    let sample = Matter {
        id: "M-1001".into(),
        title: "Smith v Jones".into(),
        matter_type: "Litigation".into(),
        clients: vec![Client {
            id: "C-100".into(),
            name: "Smith Holdings".into(),
        }],
        file_reference: Some("LIT/2024/001".into()),
        assigned_to: None,
        priority: None,
        status: None,
        acting_user: None,
    };
    match template {
        "" => NameTemplate::default().render(&sample),
        t => match NameTemplate::parse(t) {
            Ok(t) => t.render(&sample),
            Err(e) => format!("(not a valid template: {})", e.message()),
        },
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Whether a password is stored, and where: never the password.
fn password_source(p: &dyn Platform, saved: Option<&Saved>) -> String {
    if saved.is_some_and(|s| {
        s.values
            .get("imanage_password")
            .is_some_and(|v| !v.is_empty())
    }) {
        return "A password is stored in the console; leave the field empty to keep it".into();
    }
    match p.config_deployed("imanage_password") {
        Ok(Some(v)) if !v.trim().is_empty() => {
            "A password is set by the deployment; leave the field empty to keep it".into()
        }
        _ => "Not set".into(),
    }
}

/// What the deployment sets that the console does not: values shown, secrets only as set or
/// not set.
fn facts(p: &dyn Platform) -> Vec<Fact> {
    let plain = [
        "imanage_base_url",
        "imanage_customer_id",
        "imanage_client_id",
        "link_hosts",
        "imanage_timeout_seconds",
        "event_deadline_seconds",
        "claim_ttl_seconds",
    ];
    let secret = [
        "imanage_client_secret",
        "webhook_secret",
        "actionstep_token",
    ];
    let value = |k: &str| p.config(k).ok().flatten();
    let mut out: Vec<Fact> = plain
        .iter()
        .map(|k| Fact {
            key: k,
            shown: value(k).unwrap_or_else(|| "not set (default)".into()),
        })
        .collect();
    out.extend(secret.iter().map(|k| Fact {
        key: k,
        shown: if value(k).is_some() { "set" } else { "not set" }.into(),
    }));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_read_as_utc() {
        assert_eq!(super::utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc(1_800_000_000), "2027-01-15 08:00 UTC");
    }
}
