#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| credtrace::fuzzing::policy_hcl(data));
