//! `rcompose stack deploy|ls|ps|services|rm`: the project on a Docker Swarm.

use anyhow::Context;

use crate::cli::{GlobalOpts, StackCommand, StackDeployArgs};
use crate::engine::{Engine, engine_message, images};
use crate::orchestrate::builtin::select;
use crate::swarm;
use crate::ui::Style;
use crate::ui::progress::Progress;

pub fn run(global: &GlobalOpts, cmd: StackCommand, style: &Style) -> anyhow::Result<i32> {
    let stack_name = |given: Option<String>| -> anyhow::Result<String> {
        match given.or_else(|| global.project_name.clone()) {
            Some(n) => Ok(n),
            None => Ok(super::load_for(global, &[], style)?.name),
        }
    };
    match cmd {
        StackCommand::Deploy(args) => deploy(global, &args, style),
        StackCommand::Ls => engine_print(|e| async move { swarm::ls(&e).await }),
        StackCommand::Ps(a) => {
            let stack = stack_name(a.stack)?;
            engine_print(|e| async move { swarm::ps(&e, &stack).await })
        }
        StackCommand::Services(a) => {
            let stack = stack_name(a.stack)?;
            engine_print(|e| async move { swarm::list_services(&e, &stack).await })
        }
        StackCommand::Rm(a) => {
            let stack = stack_name(a.stack)?;
            super::runtime()?.block_on(async {
                let engine = Engine::connect().await?;
                let any = swarm::rm(&engine, &stack, &|l| println!("{l}")).await?;
                if !any {
                    eprintln!("Nothing found in stack: {stack}");
                }
                Ok(0)
            })
        }
    }
}

fn engine_print<F, Fut>(f: F) -> anyhow::Result<i32>
where
    F: FnOnce(Engine) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<String>>,
{
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        print!("{}", f(engine).await?);
        Ok(0)
    })
}

fn deploy(global: &GlobalOpts, args: &StackDeployArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_for(global, &[], style)?;
    let stack = project.name.clone();
    let wants_proxy = !args.no_builtin_proxy && !select::proxy_services(&project, false).is_empty();
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let mut opts = swarm::PlanOptions {
            stack: stack.clone(),
            proxy_image: None,
            dnsrr: swarm::local_kernel_lacks_ipvs(&engine.host),
            registry: args.registry.clone(),
        };
        if args.dry_run {
            opts.proxy_image = wants_proxy.then(|| "rcompose-proxy (built at deploy)".to_string());
            let plan = swarm::plan(&project, &opts).map_err(anyhow::Error::msg)?;
            notes(style, &plan, &opts);
            print!("{}", swarm::describe(&plan));
            return Ok(0);
        }
        swarm::check_manager(&engine).await?;
        let progress = Progress::new(global.progress.into(), style.color);
        if wants_proxy {
            let out = |line: &str| progress.println(&format!("rcompose-proxy  | {line}"));
            opts.proxy_image = Some(swarm::proxy_image::ensure(&engine, &out).await?);
        }
        let plan = swarm::plan(&project, &opts).map_err(anyhow::Error::msg)?;
        notes(style, &plan, &opts);
        for (service, runs_as) in &plan.builds {
            let svc = &project.services[service];
            crate::orchestrate::images::build(
                &engine,
                &project,
                svc,
                &images::BuildOpts::default(),
                &progress,
            )
            .await?;
            let built = project.image_for(svc);
            if *runs_as != built {
                let (repo, tag) = images::split_reference(runs_as);
                let t =
                    bollard::query_parameters::TagImageOptions { repo: Some(repo), tag: Some(tag) };
                engine.docker.tag_image(&built, Some(t)).await.map_err(|e| {
                    anyhow::anyhow!("cannot tag {built} as {runs_as}: {}", engine_message(&e))
                })?;
            }
            // Pushed where its name says (or --registry): the nodes pull it from there.
            if swarm::names_registry(runs_as) {
                images::push(&engine, runs_as, &format!("Image {runs_as}"), &progress)
                    .await
                    .with_context(|| {
                        format!(
                            "service {service}: cannot push {runs_as}; is the registry reachable?"
                        )
                    })?;
            }
        }
        drop(progress);
        swarm::deploy(&engine, &plan, args.prune, &|l| println!("{l}")).await?;
        Ok(0)
    })
}

fn notes(style: &Style, plan: &swarm::StackPlan, opts: &swarm::PlanOptions) {
    let note = |text: &str| eprintln!("{}: {text}", style.paint("1;36", "note"));
    if opts.dnsrr {
        note(
            "this kernel has no IPVS: services use endpoint_mode dnsrr and publish their ports on the node (mode host)",
        );
    }
    for n in &plan.notes {
        note(n);
    }
    if opts.registry.is_none() {
        for (service, image) in plan.builds.iter().filter(|(_, i)| !swarm::names_registry(i)) {
            note(&format!(
                "service {service}: {image} is built on this node only; other nodes need it from a registry (--registry)"
            ));
        }
    }
}
