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

#[test]
fn push_sends_built_images_to_their_registry_and_skips_the_rest() {
    common::ensure_busybox();
    let registry = Registry::start();
    let image = format!("{}/rct/pushed:{}", registry.addr, std::process::id());
    let extra = format!("{}/rct/pushed:extra-{}", registry.addr, std::process::id());
    let p = TestProject::new(
        "push",
        &format!(
            "services:\n  app:\n    build:\n      context: ./ctx\n      tags: [\"{extra}\"]\n    image: {image}\n  plain:\n    image: {BUSYBOX}\n"
        ),
    );
    p.write("ctx/Dockerfile", &format!("FROM {BUSYBOX}\nRUN echo built > /built\n"));
    p.ok(&["build"]);
    let (code, _, err) = p.run(&["push"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("Image {image}  Pushed")), "{err}");
    assert!(err.contains("Service plain  Skipped"), "{err}");
    // What was pushed comes back from the registry.
    for tag in [&image, &extra] {
        common::docker(&["rmi", tag]);
        common::docker(&["pull", tag]);
    }
    let _ = common::docker_ok(&["rmi", &image, &extra]);
    // A registry that is not there: the image named, and --ignore-push-failures goes on.
    drop(registry);
    p.ok(&["build"]);
    let (code, _, err) = p.run(&["push", "app"]);
    assert_ne!(code, 0);
    assert!(err.contains(&format!("cannot push {image}")), "{err}");
    assert_eq!(p.run(&["push", "--ignore-push-failures"]).0, 0);
    let _ = common::docker_ok(&["rmi", &image, &extra]);
}
