//! Files of matters for `backfill` and `drift`: JSON Lines or CSV, chosen by the extension.
//!
//! JSONL (`.jsonl`, `.ndjson`): one matter record per line, the same snake_case JSON as
//! `matterlink call --matter`; blank lines are skipped. (Not `.json`: a JSON array of matters
//! would be read line by line and fail confusingly.)
//!
//! CSV (`.csv`), read by the component's `matters_csv` (the console's backfill upload reads the
//! same format), with a header naming the columns: `id`, `title`, `matter_type` (required),
//! `client_id`, `client_name`, `file_reference`, `assigned_to`, `priority`, `status`,
//! `acting_user`. More clients: `client_id_2`, `client_name_2`, `client_id_3`, … and/or a
//! `clients` column of `C-1=Name One;C-2=Name Two` (ids first, in order; the first client is
//! the primary one). An empty cell is an absent value. An unknown column is refused, so that a
//! misspelt `file_refrence` cannot silently drop every file reference.
//!
//! A row that cannot be read is a row with an error (reported as failed, with its line number),
//! not the end of the run; only an unreadable file or a bad header stops it.

use std::path::Path;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use matterlink_component::matters_csv::{self, mark_duplicates};
use matterlink_component::model::Matter;

/// One matter of the file, or why its line could not be read: the component's, whose CSV
/// reading (`matters_csv`) the console's backfill shares.
pub use matterlink_component::matters_csv::Row;

/// A matters file as read: its rows and its identity.
#[derive(Debug)]
pub struct MattersFile {
    /// Every record, in file order.
    pub rows: Vec<Row>,
    /// Hex digest of the file's content: its identity for resuming a backfill.
    pub identity: String,
}

/// Reads a matters file: CSV (with a header) or JSON Lines, by its extension.
pub fn read(path: &Path) -> Result<MattersFile> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let identity = hex(&Sha256::digest(&bytes));
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut rows = match ext.as_str() {
        "csv" => matters_csv::rows(&bytes).map_err(anyhow::Error::msg)?,
        "jsonl" | "ndjson" => jsonl_rows(&bytes),
        _ => bail!(
            "{} must end in .csv or .jsonl (one matter record per line)",
            path.display()
        ),
    };
    // Already done for CSV; marking again changes nothing.
    mark_duplicates(&mut rows);
    Ok(MattersFile { rows, identity })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn jsonl_rows(bytes: &[u8]) -> Vec<Row> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let line = i as u64 + 1;
            match serde_json::from_str::<Matter>(l) {
                Ok(m) => Row {
                    line,
                    matter_id: Some(m.id.clone()),
                    matter: Ok(m),
                },
                Err(e) => Row {
                    line,
                    // The id, if the line is JSON with one, so the report can name the matter.
                    matter_id: serde_json::from_str::<serde_json::Value>(l)
                        .ok()
                        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(String::from)),
                    matter: Err(format!("not a matter record: {e}")),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn csv_with_several_clients_and_bad_rows() {
        let (_d, path) = write(
            "m.csv",
            "id,title,matter_type,client_id,client_name,client_id_2,client_name_2,clients,file_reference,status\n\
             1042,Smith v Jones,Litigation,C-100,Acme,C-101,Beta,C-102=Gamma;C-103=Delta,LIT-1,Active\n\
             ,No id,Litigation,C-1,X,,,,,\n\
             \n\
             1043,\"Quoted, title\",Advice,,,,,,,\n\
             1042,Again,Litigation,C-1,X,,,,,\n",
        );
        let f = read(&path).unwrap();
        assert_eq!(f.rows.len(), 4);
        let m = f.rows[0].matter.as_ref().unwrap();
        let ids: Vec<_> = m.clients.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, vec!["C-100", "C-101", "C-102", "C-103"]);
        assert_eq!(m.clients[2].name, "Gamma");
        assert_eq!(m.file_reference.as_deref(), Some("LIT-1"));
        assert_eq!(m.priority, None);
        assert_eq!(f.rows[0].line, 2);
        assert_eq!(f.rows[1].line, 3);
        assert!(f.rows[1]
            .matter
            .as_ref()
            .unwrap_err()
            .contains("id is empty"));
        let quoted = f.rows[2].matter.as_ref().unwrap();
        assert_eq!(quoted.title, "Quoted, title");
        assert!(quoted.clients.is_empty());
        assert!(f.rows[3]
            .matter
            .as_ref()
            .unwrap_err()
            .contains("already on line 2"));
        assert_eq!(f.identity.len(), 64);
    }

    #[test]
    fn csv_header_must_be_known_and_complete() {
        let (_d, path) = write("m.csv", "id,title,matter_type,file_refrence\n1,t,x,r\n");
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("file_refrence"), "{e}");
        let (_d, path) = write("m.csv", "id,title\n1,t\n");
        assert!(read(&path).unwrap_err().to_string().contains("matter_type"));
    }

    #[test]
    fn jsonl_lines_and_their_numbers() {
        let (_d, path) = write(
            "m.jsonl",
            "{\"id\": \"1\", \"title\": \"t\", \"matter_type\": \"x\", \"clients\": []}\n\n{\"id\": \"2\", \"title\": 5}\nnot json\n",
        );
        let f = read(&path).unwrap();
        assert_eq!(f.rows.len(), 3);
        assert!(f.rows[0].matter.is_ok());
        assert_eq!(f.rows[1].line, 3);
        assert_eq!(f.rows[1].matter_id.as_deref(), Some("2"));
        assert!(f.rows[1].matter.is_err());
        assert_eq!(f.rows[2].line, 4);
        let (_d, path) = write("m.txt", "");
        assert!(read(&path).is_err());
    }
}
