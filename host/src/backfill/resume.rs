//! What a backfill has done, kept in the host's own key-value store (`HOST_STORE`), keyed by the
//! input file's content digest and the matter id. The same file run again skips its done
//! matters; an edited file is a new file, whose matters are looked at again — cheaply, since
//! backfill-matter answers an already linked matter without calling iManage.

use std::sync::Arc;

use anyhow::{Context, Result};

use super::report::Entry;
use crate::keyvalue::runtime_config::HOST_STORE;
use crate::keyvalue::Backend;

/// What earlier runs of the same file finished, so a rerun skips it.
pub struct Resume {
    backend: Arc<dyn Backend>,
    file: String,
}

impl Resume {
    /// Progress of the file whose content hashes to `file_identity`.
    pub fn new(backend: Arc<dyn Backend>, file_identity: &str) -> Resume {
        Resume {
            backend,
            // A prefix of the SHA-256 is plenty to tell a firm's files apart.
            file: file_identity.chars().take(32).collect(),
        }
    }

    fn key(&self, matter_id: &str) -> String {
        format!("backfill/{}/{matter_id}", self.file)
    }

    /// The entry of a matter done by an earlier run of this file.
    pub async fn done(&self, matter_id: &str) -> Result<Option<Entry>> {
        let Some(v) = self.backend.get(HOST_STORE, &self.key(matter_id)).await? else {
            return Ok(None);
        };
        // An unreadable record (another version's) just means "run it again".
        Ok(serde_json::from_slice(&v.value).ok())
    }

    /// Records a finished matter.
    pub async fn record(&self, entry: &Entry) -> Result<()> {
        let raw = serde_json::to_vec(entry).context("encoding backfill progress")?;
        self.backend
            .set(HOST_STORE, &self.key(&entry.matter_id), &raw)
            .await?;
        Ok(())
    }
}
