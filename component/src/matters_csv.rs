//! Matters as CSV, the format `matterlink backfill` reads and the console's backfill takes as
//! an upload: one place for it, so a file that works in one works in the other.
//!
//! A header names the columns: `id`, `title`, `matter_type` (required), `client_id`,
//! `client_name`, `file_reference`, `assigned_to`, `priority`, `status`, `acting_user`. More
//! clients: `client_id_2`, `client_name_2`, `client_id_3`, … and/or a `clients` column of
//! `C-1=Name One;C-2=Name Two` (ids first, in order; the first client is the primary one). An
//! empty cell is an absent value. An unknown column is refused, so that a misspelt
//! `file_refrence` cannot silently drop every file reference.
//!
//! A row that cannot be read is a row with an error (reported as failed, with its line number),
//! not the end of the run; only a bad header stops it.

use std::collections::HashMap;

use crate::model::{Client, Matter};

/// One matter of the file, or why its line could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line of the file where the record starts.
    pub line: u64,
    /// The matter id, when it could be read even if the rest could not.
    pub matter_id: Option<String>,
    /// The matter, or why the line is not one.
    pub matter: Result<Matter, String>,
}

const OPTIONAL: [&str; 5] = [
    "file_reference",
    "assigned_to",
    "priority",
    "status",
    "acting_user",
];

/// `client_id`, `client_name`, `client_id_2`, … → (client number from 1, is it the id).
fn client_column(name: &str) -> Option<(usize, bool)> {
    let (is_id, rest) = if let Some(r) = name.strip_prefix("client_id") {
        (true, r)
    } else if let Some(r) = name.strip_prefix("client_name") {
        (false, r)
    } else {
        return None;
    };
    match rest {
        "" => Some((1, is_id)),
        _ => {
            let n: usize = rest.strip_prefix('_')?.parse().ok()?;
            (n >= 1).then_some((n, is_id))
        }
    }
}

/// The rows of a CSV with a header; `Err` (for people) when the header cannot be read, names an
/// unknown column or lacks a required one.
pub fn rows(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let mut records = Records::new(bytes);
    let header: Vec<String> = match records.next() {
        None => Vec::new(),
        Some((_, Ok(h))) => h
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect(),
        Some((_, Err(e))) => return Err(format!("reading the CSV header: {e}")),
    };
    for col in &header {
        let known = matches!(col.as_str(), "id" | "title" | "matter_type" | "clients")
            || OPTIONAL.contains(&col.as_str())
            || client_column(col).is_some();
        if !known {
            return Err(format!(
                "the CSV header names an unknown column {col:?}; columns: id, title, matter_type, client_id, client_name, client_id_2, client_name_2, …, clients, {}",
                OPTIONAL.join(", ")
            ));
        }
    }
    for required in ["id", "title", "matter_type"] {
        if !header.iter().any(|h| h == required) {
            return Err(format!("the CSV header has no {required:?} column"));
        }
    }
    let index: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let mut rows = Vec::new();
    for (line, record) in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                rows.push(Row {
                    line,
                    matter_id: None,
                    matter: Err(format!("unreadable CSV record: {e}")),
                });
                continue;
            }
        };
        if record.iter().all(String::is_empty) {
            continue;
        }
        let cell = |name: &str| {
            index
                .get(name)
                .and_then(|&i| record.get(i))
                .filter(|v| !v.is_empty())
                .cloned()
        };
        let id = cell("id");
        rows.push(Row {
            line,
            matter_id: id.clone(),
            matter: matter_of(&header, &record, &cell),
        });
    }
    mark_duplicates(&mut rows);
    Ok(rows)
}

fn matter_of(
    header: &[String],
    record: &[String],
    cell: &dyn Fn(&str) -> Option<String>,
) -> Result<Matter, String> {
    if record.len() > header.len() {
        return Err(format!(
            "{} cells where the header names {} columns",
            record.len(),
            header.len()
        ));
    }
    let id = cell("id").ok_or("the id is empty")?;
    let mut numbered: Vec<(usize, Option<String>, Option<String>)> = Vec::new();
    for (i, col) in header.iter().enumerate() {
        let Some((n, is_id)) = client_column(col) else {
            continue;
        };
        let value = record.get(i).filter(|v| !v.is_empty()).cloned();
        let slot = match numbered.iter_mut().find(|(k, _, _)| *k == n) {
            Some(s) => s,
            None => {
                numbered.push((n, None, None));
                numbered.last_mut().expect("just pushed")
            }
        };
        if is_id {
            slot.1 = value;
        } else {
            slot.2 = value;
        }
    }
    numbered.sort_unstable_by_key(|(n, _, _)| *n);
    let mut clients = Vec::new();
    for (n, id, name) in numbered {
        match (id, name) {
            (Some(id), name) => clients.push(Client {
                name: name.unwrap_or_else(|| id.clone()),
                id,
            }),
            (None, Some(_)) => return Err(format!("client {n} has a name but no id")),
            (None, None) => {}
        }
    }
    if let Some(list) = cell("clients") {
        for entry in list.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, name) = match entry.split_once('=') {
                Some((id, name)) => (id.trim(), name.trim()),
                None => (entry, entry),
            };
            if id.is_empty() {
                return Err(format!("clients entry {entry:?} has no id"));
            }
            clients.push(Client {
                id: id.to_string(),
                name: name.to_string(),
            });
        }
    }
    Ok(Matter {
        id,
        title: cell("title").unwrap_or_default(),
        matter_type: cell("matter_type").unwrap_or_default(),
        clients,
        file_reference: cell("file_reference"),
        assigned_to: cell("assigned_to"),
        priority: cell("priority"),
        status: cell("status"),
        acting_user: cell("acting_user"),
    })
}

/// The records of a CSV body, each with the line it starts on, its cells trimmed: what the
/// CLI read with the `csv` crate (flexible record lengths, `Trim::All`), done here with that
/// crate's own parser, `csv-core`, which brings none of `csv`'s I/O and serde machinery into
/// the component. Blank lines are skipped, as `csv` skips them.
struct Records<'a> {
    input: &'a [u8],
    core: csv_core::Reader,
    done: bool,
}

impl<'a> Records<'a> {
    fn new(input: &'a [u8]) -> Records<'a> {
        Records {
            input,
            core: csv_core::Reader::new(),
            done: false,
        }
    }
}

impl Iterator for Records<'_> {
    /// The record's line (as `csv` numbers it: the reader's line when the record starts), and
    /// its cells or why they are not text.
    type Item = (u64, Result<Vec<String>, String>);

    fn next(&mut self) -> Option<Self::Item> {
        use csv_core::ReadRecordResult::*;
        if self.done {
            return None;
        }
        let line = self.core.line();
        let mut out = vec![0u8; 1024];
        let mut ends = vec![0usize; 32];
        let (mut outlen, mut endlen) = (0, 0);
        loop {
            let (res, nin, nout, nend) =
                self.core
                    .read_record(self.input, &mut out[outlen..], &mut ends[endlen..]);
            self.input = &self.input[nin..];
            outlen += nout;
            endlen += nend;
            match res {
                // Handing it an empty input next is how the end of the body is told.
                InputEmpty => continue,
                OutputFull => out.resize(out.len() * 2, 0),
                OutputEndsFull => ends.resize(ends.len() * 2, 0),
                Record => break,
                End => {
                    self.done = true;
                    return None;
                }
            }
        }
        let mut cells = Vec::with_capacity(endlen);
        let mut start = 0;
        for &end in &ends[..endlen] {
            match std::str::from_utf8(&out[start..end]) {
                Ok(text) => cells.push(text.trim().to_string()),
                Err(e) => {
                    return Some((
                        line,
                        Err(format!("cell {} is not UTF-8: {e}", cells.len() + 1)),
                    ))
                }
            }
            start = end;
        }
        Some((line, Ok(cells)))
    }
}

/// One CSV line of `cells`, quoted where a cell needs it (a comma, a quote or a line break),
/// as the `csv` crate's writer quotes them; ends in `\n`.
pub fn csv_line(cells: &[&str]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if cell.contains([',', '"', '\r', '\n']) || (cells.len() == 1 && cell.is_empty()) {
            line.push('"');
            line.push_str(&cell.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(cell);
        }
    }
    line.push('\n');
    line
}

/// A matter listed twice is run once: later rows are failed, naming the first.
pub fn mark_duplicates(rows: &mut [Row]) {
    let mut first: HashMap<String, u64> = HashMap::new();
    for row in rows.iter_mut() {
        let Ok(m) = &row.matter else { continue };
        if let Some(line) = first.get(&m.id) {
            row.matter = Err(format!("matter {} is listed already on line {line}", m.id));
        } else {
            first.insert(m.id.clone(), row.line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_clients_quoted_cells_bad_and_repeated_rows() {
        let rows = rows(
            b"id,title,matter_type,client_id,client_name,client_id_2,client_name_2,clients,file_reference,status\n\
             1042,Smith v Jones,Litigation,C-100,Acme,C-101,Beta,C-102=Gamma;C-103=Delta,LIT-1,Active\n\
             ,No id,Litigation,C-1,X,,,,,\n\
             \n\
             1043,\"Quoted, title\",Advice,,,,,,,\n\
             1042,Again,Litigation,C-1,X,,,,,\n\
             1044,Named only,Advice,,Nameless,,,,,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 5);
        let m = rows[0].matter.as_ref().unwrap();
        let ids: Vec<_> = m.clients.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, vec!["C-100", "C-101", "C-102", "C-103"]);
        assert_eq!(m.clients[2].name, "Gamma");
        assert_eq!(m.file_reference.as_deref(), Some("LIT-1"));
        assert_eq!((rows[0].line, rows[1].line), (2, 3));
        assert!(rows[1].matter.as_ref().unwrap_err().contains("id is empty"));
        assert_eq!(rows[2].matter.as_ref().unwrap().title, "Quoted, title");
        assert!(rows[3]
            .matter
            .as_ref()
            .unwrap_err()
            .contains("already on line 2"));
        assert!(rows[4]
            .matter
            .as_ref()
            .unwrap_err()
            .contains("client 1 has a name but no id"));
        assert_eq!(rows[4].matter_id.as_deref(), Some("1044"));
    }

    #[test]
    fn the_header_must_be_known_and_complete() {
        let e = rows(b"id,title,matter_type,file_refrence\n1,t,x,r\n").unwrap_err();
        assert!(e.contains("file_refrence"), "{e}");
        assert!(rows(b"id,title\n1,t\n")
            .unwrap_err()
            .contains("matter_type"));
        // A byte-order mark and capitals in the header are forgiven.
        let ok = rows("\u{feff}ID,Title,Matter_Type\n1,t,x\n".as_bytes()).unwrap();
        assert_eq!(ok[0].matter.as_ref().unwrap().id, "1");
        // No header at all: the required columns are missing.
        assert!(rows(b"").unwrap_err().contains("\"id\""));
    }

    #[test]
    fn long_cells_many_columns_and_text_that_is_not_utf8() {
        let long = "x".repeat(5000);
        let body = format!(
            "id,title,matter_type,{}\n1,{long},t{}\n",
            (2..=40)
                .map(|n| format!("client_id_{n}"))
                .collect::<Vec<_>>()
                .join(","),
            ",".repeat(39)
        );
        let r = rows(body.as_bytes()).unwrap();
        assert_eq!(r[0].matter.as_ref().unwrap().title, long);
        let r = rows(b"id,title,matter_type\n1,caf\xe9,x\n2,b,x").unwrap();
        assert!(r[0]
            .matter
            .as_ref()
            .unwrap_err()
            .starts_with("unreadable CSV record"));
        assert_eq!(
            r[1].matter.as_ref().unwrap().id,
            "2",
            "a last line without a line break"
        );
    }

    #[test]
    fn lines_are_quoted_where_needed() {
        assert_eq!(
            csv_line(&["1", "a,b", "say \"hi\"", ""]),
            "1,\"a,b\",\"say \"\"hi\"\"\",\n"
        );
        let back = rows(
            format!(
                "id,title,matter_type\n{}",
                csv_line(&["7", "a,\"b\"\nc", "x"])
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(back[0].matter.as_ref().unwrap().title, "a,\"b\"\nc");
    }
}
