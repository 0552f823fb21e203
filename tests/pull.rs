//! Pulling for real, from a registry on loopback: `pull`, `up` pulling what
//! is missing, and the pull policies.

mod common;

use common::{BUSYBOX, Registry, TestProject};

#[test]
fn pull_from_a_loopback_registry() {
    common::ensure_busybox();
    let registry = Registry::start();
    let image = registry.publish(BUSYBOX, &format!("rct/pulled:{}", std::process::id()));
    let p = TestProject::new(
        "pull",
        &format!("services:\n  app:\n    image: {image}\n    command: sleep 1000\n"),
    );

    // Missing image and --pull never: a clear refusal, nothing created.
    let (code, _, err) = p.run(&["up", "-d", "--pull", "never"]);
    assert_ne!(code, 0);
    assert!(err.contains("is not present and the pull policy is never"), "{err}");
    assert!(p.containers().is_empty());

    let (code, _, err) = p.run(&["pull"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("Image {image}  Pulling"))
            && err.contains(&format!("Image {image}  Pulled")),
        "{err}"
    );
    assert!(common::docker_ok(&["image", "inspect", &image]));

    // up pulls what is missing.
    common::docker(&["rmi", &image]);
    let (code, _, err) = p.run(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("Image {image}  Pulled")), "{err}");
    assert_eq!(p.containers(), vec![format!("{}-app-1", p.name)]);
    p.ok(&["down"]);
    let _ = common::docker_ok(&["rmi", &image]);
}

#[test]
fn pull_failures_name_the_image() {
    common::ensure_busybox();
    let port = common::free_port();
    // Only loopback: nothing here may reach outside the machine.
    let p = TestProject::new(
        "pullfail",
        &format!("services:\n  app:\n    image: 127.0.0.1:{port}/nothing/here:1\n"),
    );
    let (code, _, err) = p.run(&["pull"]);
    assert_ne!(code, 0);
    assert!(err.contains(&format!("cannot pull 127.0.0.1:{port}/nothing/here:1")), "{err}");
    let (code, _, err) = p.run(&["pull", "--ignore-pull-failures"]);
    assert_eq!(code, 0, "{err}");
}
