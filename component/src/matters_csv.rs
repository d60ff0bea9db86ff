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

use serde::{Deserialize, Serialize};

use crate::model::{Client, Matter};

/// One matter of the file, or why its line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("reading the CSV header: {e}"))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
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
    for record in reader.records() {
        let (line, record) = match record {
            Ok(r) => (r.position().map_or(0, |p| p.line()), r),
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                rows.push(Row {
                    line,
                    matter_id: None,
                    matter: Err(format!("unreadable CSV record: {e}")),
                });
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cell = |name: &str| {
            index
                .get(name)
                .and_then(|&i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(String::from)
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
    record: &csv::StringRecord,
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
        let value = record.get(i).filter(|v| !v.is_empty()).map(String::from);
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
    numbered.sort_by_key(|(n, _, _)| *n);
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
    }
}
