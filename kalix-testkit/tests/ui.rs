//! Compile-time errors of misused macros, one file per mistake, with the expected `.stderr`.
//! Regenerate the expectations with `TRYBUILD=overwrite cargo test -p kalix-testkit --test ui`.
//!
//! A test binary of its own, not a module of `it`: trybuild runs the compiler, which must not
//! share the machine with the suite's servers and child processes (a compiler starved of
//! memory or threads crashed once in CI, failing the run for nothing the macros did).

#[test]
fn misused_macros_fail_to_compile_with_pointed_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
