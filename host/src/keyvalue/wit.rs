//! The `wasi:keyvalue@0.2.0-draft2` imports bound on their own, as Spin's key-value factor binds
//! its WIT: the component's world (`crate::bindings`) reuses these types, so the capability sits
//! beneath the world instead of both depending on each other.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "wasi:keyvalue/imports@0.2.0-draft2",
    imports: { default: async },
    with: {
        "wasi:keyvalue/store.bucket": super::Bucket,
        "wasi:keyvalue/atomics.cas": super::Cas,
    },
});
