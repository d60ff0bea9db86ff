//! What one `Store` holds: the WASI context, the HTTP hooks, and handles on the shared
//! key-value backend and configuration. A fresh `State` (and `Store`) is made per call.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::config::ConfigStore;
use crate::http::Hooks;
use crate::keyvalue::host::{KeyValueCtx, KeyValueView};

pub struct State {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) http: WasiHttpCtx,
    pub(crate) hooks: Hooks,
    pub(crate) keyvalue: Arc<KeyValueCtx>,
    pub(crate) config: Arc<ConfigStore>,
    pub(crate) limits: StoreLimits,
    /// Counts this store in `Runtime::instances_in_use` until it is dropped.
    pub(crate) _in_use: crate::runtime::InUse,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl State {
    pub(crate) fn keyvalue_view(&mut self) -> KeyValueView<'_> {
        KeyValueView {
            ctx: &self.keyvalue,
            table: &mut self.table,
        }
    }
}
