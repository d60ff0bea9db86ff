//! Instantiation per event: a fresh `Store` (WASI context, HTTP hooks, key-value and config
//! handles), an instance from the host's `InstancePre` on its pooling allocator, and the one
//! export it will call looked up and type-checked (`wasi:http/incoming-handler`, as `serve` does
//! for every request) — what every call and every webhook pays before the component runs. The
//! baseline is a minimal component (one core module with a memory and one exported function,
//! written as text) instantiated the same way on the same engine, in alternating blocks.

use std::time::{Duration, Instant};

use anyhow::Result;
use matterlink_host::Runtime;
use wasmtime::component::{Component, Linker};

const MINIMAL: &str = r#"
(component
  (core module $m
    (memory (export "memory") 1)
    (func (export "run")))
  (core instance $i (instantiate $m))
  (func (export "run") (canon lift (core func $i "run"))))
"#;

pub struct Instantiation {
    pub ours: Duration,
    pub minimal: Duration,
}

const BLOCK: usize = 500;

pub async fn measure(rt: &Runtime, iterations: usize) -> Result<Instantiation> {
    let minimal = Component::new(rt.engine(), wat::parse_str(MINIMAL)?)?;
    let linker = Linker::new(rt.engine());
    let pre = linker.instantiate_pre(&minimal)?;
    // Warm both paths (page faults of the pool's first slots, lazy initialisation).
    for _ in 0..BLOCK {
        ours_once(rt).await?;
        let mut store = rt.new_store();
        pre.instantiate_async(&mut store).await?;
    }
    let (mut ours, mut base) = (Duration::ZERO, Duration::ZERO);
    let mut done = 0;
    while done < iterations {
        let t = Instant::now();
        for _ in 0..BLOCK {
            ours_once(rt).await?;
        }
        ours += t.elapsed();
        let t = Instant::now();
        for _ in 0..BLOCK {
            let mut store = rt.new_store();
            pre.instantiate_async(&mut store).await?;
        }
        base += t.elapsed();
        done += BLOCK;
    }
    Ok(Instantiation {
        ours: ours / done as u32,
        minimal: base / done as u32,
    })
}

/// One instance of ours with the export `serve` calls, dropped at once.
async fn ours_once(rt: &Runtime) -> Result<()> {
    let (mut store, instance) = rt.instantiate().await?;
    rt.incoming_handler(&mut store, &instance)?;
    Ok(())
}
