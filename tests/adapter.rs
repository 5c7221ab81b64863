//! Software adapters are told from real GPUs by what WebGPU and wgpu report about them.

use gradcam_web::adapter::AdapterInfo;

fn info(json: &str) -> AdapterInfo {
    serde_json::from_str(json).unwrap()
}

#[test]
fn software_rasterisers_are_recognised() {
    for json in [
        // Headless Chromium on a machine without a GPU (as in CI).
        r#"{"vendor":"google","architecture":"swiftshader","device":"","description":""}"#,
        r#"{"vendor":"mesa","architecture":"","description":"llvmpipe (LLVM 15.0.6, 256 bits)"}"#,
        r#"{"vendor":"mesa","description":"lavapipe"}"#,
        r#"{"vendor":"microsoft","description":"Microsoft Basic Render Driver"}"#,
        r#"{"vendor":"microsoft","architecture":"warp"}"#,
        // Whatever its name, a browser's fallback adapter is software.
        r#"{"vendor":"someone","isFallbackAdapter":true}"#,
    ] {
        assert!(info(json).is_software(), "{json}");
    }
}

#[test]
fn real_gpus_are_not_mistaken_for_software() {
    for json in [
        r#"{"vendor":"nvidia","architecture":"ampere","description":"NVIDIA GeForce RTX 3080"}"#,
        r#"{"vendor":"apple","architecture":"metal-3"}"#,
        r#"{"vendor":"intel","architecture":"gen-12lp","description":"Intel(R) Iris(R) Xe Graphics"}"#,
        r#"{"vendor":"amd","architecture":"rdna-2","description":"AMD Radeon RX 6800 (Warpath edition)"}"#,
        r#"{"vendor":"qualcomm","isFallbackAdapter":false}"#,
        "{}",
    ] {
        assert!(!info(json).is_software(), "{json}");
    }
}

#[test]
fn the_name_joins_what_is_known() {
    let swiftshader = info(r#"{"vendor":"google","architecture":"swiftshader"}"#);
    assert_eq!(swiftshader.name(), "google swiftshader");
    assert_eq!(info("{}").name(), "unnamed adapter");
}
