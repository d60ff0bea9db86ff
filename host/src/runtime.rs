//! Loading the component once and instantiating it cheaply per call.
//!
//! One `Engine` (pooling allocator, copy-on-write memory images), one compiled `Component`
//! (cached on disk next to the data, keyed by the component's hash and the engine), one
//! `InstancePre` with every import resolved; each call gets a fresh `Store`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::{
    Component, ComponentExportIndex, ComponentNamedList, Instance, Lift, Linker, Lower,
    ResourceTable, TypedFunc,
};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
    StoreLimitsBuilder,
};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

use crate::bindings::exports::wasi::http::incoming_handler;
use crate::bindings::PluginPre;
use crate::clock::ClockOffset;
use crate::config::ConfigStore;
use crate::dry_run::DryRun;
use crate::http::{AllowList, Hooks, Interceptor};
use crate::keyvalue::host::KeyValueCtx;
use crate::keyvalue::runtime_config::RuntimeConfig;
use crate::keyvalue::Backend;
use crate::state::State;

/// The component built from this repository, embedded by build.rs.
pub const EMBEDDED_COMPONENT: &[u8] = include_bytes!(env!("MATTERLINK_WASM"));

/// The exported interface the typed API ([`crate::api`]) calls.
const INTEGRATION: &str = "matterlink:imanage/integration@0.1.0";

/// Largest linear memory one instance may grow to.
const MAX_MEMORY: usize = 256 << 20;
/// Instances alive at once (concurrent requests in `serve`).
pub const MAX_INSTANCES: u32 = 256;
/// How often the engine's epoch advances: the granularity of a store's deadline. One thread
/// per engine ticks for every store; a ticker per request would cost far more than it saves.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// The deadline of a store made without one: never, in practice (the epoch adds to it, so
/// not `u64::MAX`).
const NO_DEADLINE: u64 = u64::MAX / 2;
/// Freed instance slots decommitted together.
const DECOMMIT_BATCH: usize = 16;
/// Bytes of each freed memory and table reset with memset instead of madvise.
const KEEP_RESIDENT: usize = 64 << 10;
/// Where the kernel tells which pages an instance wrote (`PAGEMAP_SCAN`): how much of those a
/// freed memory keeps mapped, reset in place (see `engine`). More than an event writes: a
/// hundred concurrent provisionings map under 40 MiB between them.
const WRITTEN_KEEP_RESIDENT: usize = 1 << 20;
pub use crate::keyvalue::runtime_config::{HOST_STORE, KEY_VALUE_FILE};

/// What a [`Runtime`] is made from.
pub struct RuntimeOptions<'a> {
    /// The component's bytes (usually [`EMBEDDED_COMPONENT`]).
    pub component: &'a [u8],
    /// Where the key-value store and the compiled-component cache live (made mode 0700).
    pub data_dir: &'a Path,
    /// The component's configuration, as `wasi:config` hands it out.
    pub config: ConfigStore,
    /// The one base URL outgoing requests may go to. `None`: the configured
    /// `imanage_base_url`. A platform embedding the host sets it to pin the destination
    /// whatever the component's configuration says.
    pub allowed_base_url: Option<String>,
}

/// The component loaded once (compiled, linked, pre-instantiated), ready for many calls: the
/// typed methods ([`crate::api`]) and the JSON ones ([`crate::functions`]) each run in a fresh
/// instance. Share it behind an `Arc`; it is `Send + Sync`.
pub struct Runtime {
    engine: Engine,
    pre: PluginPre<State>,
    /// The `matterlink:imanage/integration` interface among the component's exports.
    integration: ComponentExportIndex,
    /// Where `wasi:http/incoming-handler`'s function is among the exports.
    handler: Arc<incoming_handler::GuestIndices>,
    keyvalue: Arc<KeyValueCtx>,
    config: Arc<ConfigStore>,
    allow: AllowList,
    data_dir: PathBuf,
    clock: ClockOffset,
    /// Set for a dry run (`Runtime::new_dry_run`).
    dry_run: Option<Arc<DryRun>>,
    /// Stores alive now (see [`Runtime::instances_in_use`]).
    in_use: Arc<AtomicUsize>,
    /// What every store's hooks and `serve` count (see [`Runtime::metrics`]).
    metrics: Arc<crate::metrics::Metrics>,
    /// The tenant whose capabilities the instances get (`Runtime::for_tenant`).
    tenant: Option<crate::tenants::TenantName>,
    /// The keep-alive connections every store's outgoing requests share.
    pool: crate::http_pool::HttpPool,
}

impl Runtime {
    /// Compiles (or loads from the cache) and links the component; opens the key-value store.
    pub fn new(opts: RuntimeOptions<'_>) -> Result<Runtime> {
        Runtime::build(opts, None, None)
    }

    /// [`Runtime::new`] with key-value stores the embedder describes (for example its own
    /// database as a [`BackendSpec::Supplied`](crate::keyvalue::runtime_config::BackendSpec)
    /// backend under the label `default`) instead of the SQLite file in the data directory, which
    /// then holds only the compiled-component cache.
    pub fn with_stores(opts: RuntimeOptions<'_>, stores: RuntimeConfig) -> Result<Runtime> {
        Runtime::build(opts, None, Some(stores))
    }

    /// A runtime that changes nothing anywhere (see `dry_run`): changing iManage requests are
    /// planned, not sent; key-value writes stay in memory over the store opened read-only; the
    /// data directory is neither created nor written (not even the compiled-code cache).
    pub fn new_dry_run(opts: RuntimeOptions<'_>) -> Result<Runtime> {
        Runtime::build(opts, Some(Arc::default()), None)
    }

    /// [`Runtime::new_dry_run`] over stores the caller describes in their dry-run form (such
    /// as `RuntimeConfig::for_redis(url, true)`), for a store outside the data directory.
    pub fn new_dry_run_with_stores(
        opts: RuntimeOptions<'_>,
        stores: RuntimeConfig,
    ) -> Result<Runtime> {
        Runtime::build(opts, Some(Arc::default()), Some(stores))
    }

    fn build(
        opts: RuntimeOptions<'_>,
        dry_run: Option<Arc<DryRun>>,
        stores: Option<RuntimeConfig>,
    ) -> Result<Runtime> {
        let writable = dry_run.is_none();
        if writable {
            prepare_data_dir(opts.data_dir)?;
        }
        let engine = engine()?;
        let component = load_component(&engine, opts.component, opts.data_dir, writable)?;
        let mut linker: Linker<State> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        crate::keyvalue::host::add_to_linker(&mut linker, State::keyvalue_view)?;
        crate::config::add_to_linker(&mut linker, |s: &mut State| {
            crate::config::ConfigView(&s.config)
        })?;
        // `PluginPre::new` finds every export the host calls, so a component missing one is
        // refused here rather than at its first call.
        let pre = PluginPre::new(linker.instantiate_pre(&component)?)?;
        let integration = component
            .get_export_index(None, INTEGRATION)
            .with_context(|| format!("the component does not export {INTEGRATION}"))?;
        let handler = Arc::new(incoming_handler::GuestIndices::new(pre.instance_pre())?);
        let stores = stores
            .unwrap_or_else(|| RuntimeConfig::for_data_dir(opts.data_dir, !writable))
            .build()?;
        let allow = allow_list(opts.allowed_base_url.as_deref(), &opts.config);
        Ok(Runtime {
            engine,
            pre,
            integration,
            handler,
            keyvalue: Arc::new(KeyValueCtx { stores }),
            config: Arc::new(opts.config),
            allow,
            data_dir: opts.data_dir.to_path_buf(),
            clock: ClockOffset::default(),
            dry_run,
            in_use: Arc::default(),
            metrics: Arc::default(),
            tenant: None,
            pool: Default::default(),
        })
    }

    /// The same component for tenant `name` (see [`crate::tenants`]): the engine, the compiled
    /// component, the instance pool, the clock and the metrics are shared; the configuration
    /// is the tenant's record only (nothing of this runtime's own), the allow-list comes from
    /// it, and every key-value store is the tenant's own namespace in the same backends.
    /// Cheap: no compiling, no connection.
    pub fn for_tenant(
        &self,
        name: &crate::tenants::TenantName,
        record: &crate::tenants::TenantRecord,
    ) -> Result<Runtime> {
        let config = record.config_store();
        Ok(Runtime {
            engine: self.engine.clone(),
            pre: self.pre.clone(),
            integration: self.integration,
            handler: self.handler.clone(),
            keyvalue: Arc::new(KeyValueCtx {
                stores: self.keyvalue.stores.for_tenant(&record.namespace(name)),
            }),
            allow: allow_list(None, &config),
            config: Arc::new(config),
            data_dir: self.data_dir.clone(),
            clock: self.clock.clone(),
            dry_run: self.dry_run.clone(),
            in_use: self.in_use.clone(),
            metrics: self.metrics.clone(),
            tenant: Some(name.clone()),
            // One pool for every tenant: connections are per authority, and a tenant can only
            // reach its own allow-listed one.
            pool: self.pool.clone(),
        })
    }

    /// The tenant this runtime serves; `None` for the host's own configuration.
    pub fn tenant(&self) -> Option<&crate::tenants::TenantName> {
        self.tenant.as_ref()
    }

    /// The key-value stores by label, as the host sees them.
    pub fn stores(&self) -> &crate::keyvalue::runtime_config::Stores {
        &self.keyvalue.stores
    }

    /// Whether an instance of this runtime still exists (each holds the runtime's stores), or
    /// a copy of the runtime: whether anything may still write through its stores.
    pub fn in_use(self: &Arc<Self>) -> bool {
        Arc::strong_count(self) > 1 || Arc::strong_count(&self.keyvalue) > 1
    }

    /// Whether this runtime plans instead of changing anything.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run.is_some()
    }

    /// The key-value backend (in a dry run, the in-memory overlay). The component sees only
    /// the `default` store; the host keeps its own records (backfill progress) under
    /// `HOST_STORE` in the same backend, out of the component's reach. Stores an embedder
    /// described without a host store keep the host's records beside the component's, under
    /// their own label.
    pub fn key_value(&self) -> Arc<dyn Backend> {
        let stores = &self.keyvalue.stores;
        stores
            .get(HOST_STORE)
            .or_else(|| stores.get(crate::keyvalue::runtime_config::COMPONENT_STORE))
            .expect("a runtime has a component store or a host store")
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The wasmtime engine (pooling allocator), for embedders that measure or extend it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The configuration the component reads.
    pub fn config(&self) -> &ConfigStore {
        &self.config
    }

    /// Moves the component's wall clock forward, for tests and simulations of token expiry
    /// (together with the sandbox's `advance_clock`). Every later call sees the moved clock.
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.clock.advance(by);
    }

    /// The iManage requests a dry run planned instead of sending, in `store` since it was made
    /// or since the last call, taken out (always empty outside a dry run).
    pub fn take_plan(&self, store: &Store<State>) -> Vec<crate::dry_run::PlannedRequest> {
        store
            .data()
            .hooks
            .interceptor::<crate::dry_run::Session>()
            .map(crate::dry_run::Session::take_plan)
            .unwrap_or_default()
    }

    /// Stores (each holding at most one instance) alive now: what `serve` holds of the
    /// instance pool. Zero once every call has ended, so a test can tell nothing is stuck.
    pub fn instances_in_use(&self) -> usize {
        self.in_use.load(Ordering::SeqCst)
    }

    /// This runtime's metrics: what its instances sent to iManage, and what a `serve` over it
    /// answered. [`crate::metrics::Metrics::scrape`] adds what is read at the moment.
    pub fn metrics(&self) -> &Arc<crate::metrics::Metrics> {
        &self.metrics
    }

    /// A fresh store holding one instance's capabilities: WASI with the (movable) wall clock and
    /// stderr only, the allow-listed HTTP hooks, the key-value stores and the configuration.
    /// The guest may run as long as it likes; see [`Runtime::new_store_with_deadline`].
    pub fn new_store(&self) -> Store<State> {
        self.new_store_with_deadline(None)
    }

    /// [`Runtime::new_store`] whose guest traps once `deadline` has passed (never before it, and
    /// at most one [`EPOCH_TICK`] after) the next time it runs wasm code. A guest waiting on the host is not
    /// interrupted by this: whoever awaits the call drops it at the same deadline.
    pub fn new_store_with_deadline(&self, deadline: Option<Duration>) -> Store<State> {
        let mut wasi = WasiCtx::builder();
        // The component's own diagnostics go to our stderr; it has no files, env or args.
        wasi.inherit_stderr();
        wasi.wall_clock(self.clock.wall_clock());
        let state = State {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: Hooks {
                allow: self.allow.clone(),
                interceptor: self
                    .dry_run
                    .as_ref()
                    .map(|d| Arc::new(d.session()) as Arc<dyn Interceptor>),
                meter: Some(crate::http::Meter::new(
                    self.metrics.clone(),
                    self.tenant.as_ref().map(|t| t.as_str()),
                )),
                pool: self.pool.clone(),
            },
            keyvalue: self.keyvalue.clone(),
            config: self.config.clone(),
            limits: StoreLimitsBuilder::new().memory_size(MAX_MEMORY).build(),
            _in_use: InUse::new(&self.in_use),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // With epoch interruption on, a store without a deadline traps at once.
        store.set_epoch_deadline(match deadline {
            // No time at all: trap at the first instruction.
            Some(d) if d.is_zero() => 0,
            // The ticker's next tick may come at once, so one tick more than the deadline holds
            // guarantees the guest its whole time.
            Some(d) => d.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) as u64 + 1,
            None => NO_DEADLINE,
        });
        store.epoch_deadline_trap();
        store
    }

    /// A fresh instance in a fresh store; see [`Runtime::instantiate_in`].
    pub async fn instantiate(&self) -> Result<(Store<State>, Instance)> {
        let mut store = self.new_store();
        let instance = self.instantiate_in(&mut store).await?;
        Ok((store, instance))
    }

    /// A fresh instance in `store`, its exports not yet looked up: whoever calls one looks up
    /// that one ([`Runtime::integration_export`], [`Runtime::incoming_handler`]). The bindings'
    /// `Plugin` would look up and type-check all of them (some thirty, with their records) on
    /// every instantiation, which cost a third of it (10 µs of 29, by the benchmark).
    pub async fn instantiate_in(&self, store: &mut Store<State>) -> Result<Instance> {
        Ok(self.pre.instance_pre().instantiate_async(store).await?)
    }

    /// The export `name` of `matterlink:imanage/integration` in `instance`, type-checked as
    /// taking `P` and answering `R`: a component whose function differs is an error here.
    pub(crate) fn integration_export<P, R>(
        &self,
        store: &mut Store<State>,
        instance: &Instance,
        name: &str,
    ) -> Result<TypedFunc<P, (R,)>>
    where
        P: ComponentNamedList + Lower,
        R: Lift,
        (R,): ComponentNamedList,
    {
        let index = self
            .pre
            .instance_pre()
            .component()
            .get_export_index(Some(&self.integration), name)
            .with_context(|| format!("the component does not export {INTEGRATION}#{name}"))?;
        Ok(instance.get_typed_func(store, index)?)
    }

    /// The `wasi:http/incoming-handler` export of `instance`, type-checked.
    pub fn incoming_handler(
        &self,
        store: &mut Store<State>,
        instance: &Instance,
    ) -> Result<incoming_handler::Guest> {
        Ok(self.handler.load(store, instance)?)
    }
}

/// Where outgoing requests may go: the embedder's pin, else the configured iManage base URL;
/// and Actionstep's, when it is configured.
fn allow_list(pinned: Option<&str>, config: &ConfigStore) -> AllowList {
    AllowList::for_base_url(pinned.or(config.get("imanage_base_url")))
        .with_actionstep(|key| config.get(key))
}

/// Counts one live store from its making to its drop (it lives in the store's `State`).
pub(crate) struct InUse(Arc<AtomicUsize>);

impl InUse {
    fn new(count: &Arc<AtomicUsize>) -> InUse {
        count.fetch_add(1, Ordering::SeqCst);
        InUse(count.clone())
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Advances `engine`'s epoch every [`EPOCH_TICK`] until the engine is gone: the one clock every
/// store's deadline is measured by. A plain thread, so it ticks whatever runtime (or none)
/// the caller uses, and it holds only a weak reference so it never keeps the engine alive.
fn start_epoch_ticker(engine: &Engine) -> Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("matterlink-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        })
        .context("starting the epoch ticker")?;
    Ok(())
}

/// Whether freed instance memories keep the pages they wrote, reset in place (Linux 6.7 and
/// later, where `PAGEMAP_SCAN` tells them apart), rather than give them back: see `engine`.
pub fn resets_written_pages_in_place() -> bool {
    PoolingAllocationConfig::is_pagemap_scan_available()
}

fn engine() -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(MAX_INSTANCES)
        .total_core_instances(MAX_INSTANCES * 4)
        .total_memories(MAX_INSTANCES * 2)
        .total_tables(MAX_INSTANCES * 4)
        .max_memory_size(MAX_MEMORY)
        // Instances live for one call: freeing their slots in batches (and resetting small
        // tables and the first pages of memories with memset) spares an madvise, and the TLB
        // shootdown it brings, per slot per call.
        .decommit_batch_size(DECOMMIT_BATCH)
        .table_keep_resident(KEEP_RESIDENT)
        .linear_memory_keep_resident(KEEP_RESIDENT);
    // A freed memory's pages are otherwise given back, and the next instance in the slot takes
    // a page fault on each page it touches again. A page it reads before writing (a flag in
    // the data section, the allocator's state: most of them) faults twice, and the second
    // fault replaces a mapping every core may hold, so it interrupts the other cores to flush
    // it: on the benchmark's two-core VM that was a third of a signed duplicate's CPU in
    // `serve`. Where Linux (6.7 on) tells which pages were written, those stay mapped and are
    // reset in place (copied from the image or zeroed), the rest given back as before.
    // Without it, the first KEEP_RESIDENT bytes are reset by memset whether written or not
    // (a Rust component's stack ends there, so they rarely are).
    if resets_written_pages_in_place() {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(WRITTEN_KEEP_RESIDENT);
    }
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .memory_init_cow(true)
        // A request past its deadline must stop even while the guest computes: with epoch
        // interruption the compiled code checks the store's deadline at function entries and
        // loop heads.
        .epoch_interruption(true);
    let engine = Engine::new(&config)?;
    start_epoch_ticker(&engine)?;
    Ok(engine)
}

/// The data directory holds tokens: readable by its owner only.
fn prepare_data_dir(dir: &Path) -> Result<()> {
    crate::private_fs::make_private_dir(dir)
        .with_context(|| format!("preparing data directory {} (mode 0700)", dir.display()))
}

/// Compiling the component takes seconds; a compiled copy in the data directory makes every
/// later `matterlink call` start in milliseconds. The key covers the component bytes and the
/// engine's configuration, so a different build never loads a stale artifact. Without
/// `write_cache` (dry runs) a cached copy is used but none is written.
fn load_component(
    engine: &Engine,
    bytes: &[u8],
    data_dir: &Path,
    write_cache: bool,
) -> Result<Component> {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    hasher.update(env!("CARGO_PKG_VERSION"));
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut engine_hash);
    hasher.update(std::hash::Hasher::finish(&engine_hash).to_le_bytes());
    let key = hasher.finalize();
    let cache_dir = data_dir.join("compiled");
    let path = cache_dir.join(format!("{:x}.cwasm", key));
    // Loading a compiled file runs its machine code: only ever from a directory nobody else
    // can write. A cache directory that is not private is neither read nor written.
    let private = crate::private_fs::is_private_dir(&cache_dir);
    if cache_dir.exists() && !private {
        tracing::warn!(
            dir = %cache_dir.display(),
            "not using the compiled-component cache: the directory must be owned by this user with mode 0700"
        );
    }
    if private && path.exists() {
        // SAFETY: the file was written by `Component::serialize` of this same engine
        // configuration (the name is the hash of both) in a directory only we can write.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => return Ok(c),
            Err(e) => tracing::warn!(error = %e, "ignoring unusable compiled component cache"),
        }
    }
    let component = Component::new(engine, bytes)
        .map_err(|e| anyhow::Error::from(e).context("compiling the component"))?;
    if !write_cache || (cache_dir.exists() && !private) {
        return Ok(component);
    }
    let compiled = component.serialize()?;
    crate::private_fs::make_private_dir(&cache_dir)?;
    // Write then rename, so a concurrent process never reads half a file.
    let tmp = cache_dir.join(format!("{:x}.{}.tmp", key, std::process::id()));
    std::fs::write(&tmp, compiled)?;
    std::fs::rename(&tmp, &path)?;
    Ok(component)
}
