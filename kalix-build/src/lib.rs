//! # kalix-build
//!
//! Compiles a crate's `.proto` files for [`kalix-core`]'s gRPC endpoints, in `build.rs`:
//!
//! ```no_run
//! // build.rs
//! fn main() -> std::io::Result<()> {
//!     kalix_build::compile_protos(&["proto/fibonacci.proto"])
//! }
//! ```
//!
//! and in the crate, `kalix_core::include_protos!();` brings in, one module per package
//! (`com::example::fibonacci`):
//! - the messages, as prost types whose serde form is the proto3 JSON mapping (`int64` as a
//!   string, fields in lowerCamelCase, both names read), which handlers take and reply with;
//! - for each service, a type of the service's name with one constant per method
//!   (`Fibonacci::NextNumber`), which `#[grpc(..)]` names; its type carries the request and
//!   reply messages and whether the method streams, so the compiler checks a handler against it;
//! - for each service, a tonic client (`fibonacci_client::FibonacciClient`), for tests and for
//!   calling the service from elsewhere;
//! - the descriptors of the files and their imports, registered for the reflection service.
//!
//! A method's `google.api.http` option (`option (google.api.http) = { get: "/fibonacci/{value}/next" };`,
//! with `import "google/api/annotations.proto";`, which this crate supplies) serves it over
//! HTTP/JSON too: path variables and query parameters set the request's fields of their names,
//! and `body: "*"` reads the request from the body. `protoc` comes with this crate (vendored);
//! a `PROTOC` variable names another.
//!
//! [`kalix-core`]: https://docs.rs/kalix-core

mod codegen;
mod http_rule;
mod names;

use std::io;
use std::path::{Path, PathBuf};

/// The file `kalix_core::include_protos!()` includes, in `OUT_DIR`.
pub const INCLUDE_FILE: &str = "kalix_protos.rs";
/// The descriptor set of the compiled files and their imports, in `OUT_DIR`.
pub const DESCRIPTOR_SET: &str = "kalix_descriptor.bin";

/// Compiles `protos`, with their own directories, the `google/api` annotations and the
/// well-known types on the import path. Prints what cargo needs to rerun when they change.
pub fn compile_protos(protos: &[impl AsRef<Path>]) -> io::Result<()> {
    let includes: Vec<PathBuf> = protos
        .iter()
        .filter_map(|proto| proto.as_ref().parent().map(Path::to_path_buf))
        .collect();
    compile_protos_with_includes(protos, &includes)
}

/// [`compile_protos`] with the directories imports are found in named.
pub fn compile_protos_with_includes(
    protos: &[impl AsRef<Path>],
    includes: &[impl AsRef<Path>],
) -> io::Result<()> {
    let out_dir =
        PathBuf::from(std::env::var_os("OUT_DIR").ok_or_else(|| {
            io::Error::other("OUT_DIR is not set: call kalix-build from build.rs")
        })?);
    let bundled = out_dir.join("kalix-build-include");
    write_bundled_protos(&bundled)?;
    let mut include_dirs: Vec<PathBuf> =
        includes.iter().map(|i| i.as_ref().to_path_buf()).collect();
    include_dirs.push(bundled);
    include_dirs.push(protoc_bin_vendored::include_path().map_err(io::Error::other)?);
    for proto in protos {
        println!("cargo:rerun-if-changed={}", proto.as_ref().display());
    }
    println!("cargo:rerun-if-env-changed=PROTOC");

    let descriptor_path = out_dir.join(DESCRIPTOR_SET);
    let mut config = prost_build::Config::new();
    if std::env::var_os("PROTOC").is_none() {
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path().map_err(io::Error::other)?);
    }
    // The well-known types are pbjson's (their JSON is the proto3 mapping), not prost's.
    config
        .prost_path(names::PROST)
        .compile_well_known_types()
        .extern_path(".google.protobuf", names::WELL_KNOWN_TYPES)
        .file_descriptor_set_path(&descriptor_path);
    let protos: Vec<PathBuf> = protos.iter().map(|p| p.as_ref().to_path_buf()).collect();
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .build_transport(false)
        .codec_path(names::PROST_CODEC)
        .compile_with_config(config, &protos, &include_dirs)?;

    let descriptors = std::fs::read(&descriptor_path)?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        .extern_path(".google.protobuf", names::WELL_KNOWN_TYPES)
        .out_dir(&out_dir)
        .build(&["."])?;

    let pool = prost_reflect::DescriptorPool::decode(descriptors.as_slice()).map_err(|error| {
        io::Error::other(format!("the descriptor set does not decode: {error}"))
    })?;
    // The files the listed ones import from the crate's own directories change the code too.
    for file in pool.files() {
        for include in includes {
            let path = include.as_ref().join(file.name());
            if path.is_file() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let generated = codegen::generate(&pool, &out_dir)?;
    for warning in &generated.warnings {
        println!("cargo:warning={warning}");
    }
    std::fs::write(out_dir.join(INCLUDE_FILE), generated.code)
}

/// The `google/api` protos a `google.api.http` option imports, so a crate needs no copy.
fn write_bundled_protos(dir: &Path) -> io::Result<()> {
    let api = dir.join("google").join("api");
    std::fs::create_dir_all(&api)?;
    write_if_changed(
        &api.join("http.proto"),
        include_str!("../proto/google/api/http.proto"),
    )?;
    write_if_changed(
        &api.join("annotations.proto"),
        include_str!("../proto/google/api/annotations.proto"),
    )
}

fn write_if_changed(path: &Path, contents: &str) -> io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    std::fs::write(path, contents)
}
