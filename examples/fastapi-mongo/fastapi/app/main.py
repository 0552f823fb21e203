"""Items API: stores and lists items in MongoDB.

Connection settings come from the environment, so the same code runs under
docker compose, rcompose or on a laptop against a local MongoDB.
"""
import os

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel
from pymongo import MongoClient, ReturnDocument


def mongo_url() -> str:
    if "MONGO_URL" in os.environ:
        return os.environ["MONGO_URL"]
    host = os.environ.get("MONGO_HOST", "mongodb")
    port = os.environ.get("MONGO_PORT", "27017")
    user = os.environ.get("MONGO_INITDB_ROOT_USERNAME")
    password = os.environ.get("MONGO_INITDB_ROOT_PASSWORD")
    auth = f"{user}:{password}@" if user and password else ""
    return f"mongodb://{auth}{host}:{port}/"


client = MongoClient(mongo_url(), serverSelectionTimeoutMS=3000)
db = client[os.environ.get("MONGO_DB", "items")]
app = FastAPI(title="items")


class ItemIn(BaseModel):
    name: str
    description: str = ""


def public(doc: dict) -> dict:
    return {"id": doc["_id"], "name": doc["name"], "description": doc.get("description", "")}


@app.get("/")
def root(request: Request):
    """Says hello and echoes the forwarding headers the proxy set."""
    headers = {k: request.headers.get(k) for k in ("x-real-ip", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "host")}
    return {"service": "items", "path": request.url.path, "headers": headers}


@app.get("/items")
def list_items():
    return [public(d) for d in db.items.find().sort("_id", 1)]


@app.post("/items", status_code=201)
def create_item(item: ItemIn):
    counter = db.counters.find_one_and_update(
        {"_id": "items"}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
    )
    doc = {"_id": counter["seq"], "name": item.name, "description": item.description}
    db.items.insert_one(doc)
    return public(doc)


@app.get("/items/{item_id}")
def get_item(item_id: int):
    doc = db.items.find_one({"_id": item_id})
    if doc is None:
        raise HTTPException(status_code=404, detail=f"item {item_id} not found")
    return public(doc)


@app.delete("/items/{item_id}", status_code=204)
def delete_item(item_id: int):
    if db.items.delete_one({"_id": item_id}).deleted_count == 0:
        raise HTTPException(status_code=404, detail=f"item {item_id} not found")
