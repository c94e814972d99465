//! Any bytes, read as every input format (auto-detection included): the readers return
//! conversations or one-line errors, and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scamstage::chat::{read, InputFormat, Warnings};

const FORMATS: [InputFormat; 6] =
    [InputFormat::Auto, InputFormat::Json, InputFormat::Jsonl, InputFormat::Transcript, InputFormat::Whatsapp, InputFormat::Telegram];

fuzz_target!(|bytes: &[u8]| {
    for format in FORMATS {
        let warnings = Warnings::default();
        for item in read(Box::new(std::io::Cursor::new(bytes.to_vec())), "fuzz", format, &warnings) {
            if let Err(e) = item {
                assert!(!e.to_string().contains('\n'), "one-line errors: {e}");
            }
        }
    }
});
