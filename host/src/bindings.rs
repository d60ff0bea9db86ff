//! Host-side bindings of the `plugin` world (wit/matterlink.wit): the exports we call and the
//! keyvalue/config imports we implement. `wasi:http` and `wasi:io` come from wasmtime-wasi(-http).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "matterlink:imanage/plugin",
    imports: { default: async },
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:keyvalue": crate::keyvalue::wit::wasi::keyvalue,
    },
});

pub use exports::matterlink::imanage::types;
