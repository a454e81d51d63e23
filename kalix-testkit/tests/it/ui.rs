//! Compile-time errors of misused macros, one file per mistake, with the expected `.stderr`.
//! Regenerate the expectations with `TRYBUILD=overwrite cargo test -p kalix-testkit ui`.

#[test]
fn misused_macros_fail_to_compile_with_pointed_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
