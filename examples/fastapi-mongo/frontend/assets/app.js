// A small single-page app over the items API, served under /api/.
const list = document.getElementById("items");
const status = document.getElementById("status");

async function api(path, options = {}) {
  const response = await fetch(`/api${path}`, {
    headers: { "Content-Type": "application/json" },
    ...options,
  });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  return response.status === 204 ? null : response.json();
}

function render(items) {
  list.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement("li");
      li.textContent = item.name;
      const small = document.createElement("small");
      small.textContent = item.description;
      li.append(small);
      return li;
    }),
  );
}

async function refresh() {
  try {
    render(await api("/items"));
    status.textContent = "";
  } catch (err) {
    status.textContent = `Could not load items: ${err.message}`;
  }
}

document.getElementById("new-item").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    await api("/items", {
      method: "POST",
      body: JSON.stringify({ name: form.get("name"), description: form.get("description") }),
    });
    event.target.reset();
    await refresh();
  } catch (err) {
    status.textContent = `Could not add the item: ${err.message}`;
  }
});

refresh();
