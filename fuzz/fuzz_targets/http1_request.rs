#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rcompose::fuzz::http1_request(data));
