"""A hookgate formatter written in Python: GitHub `push` events as a Discord-style embed.

Built into a WASI component with componentize-py against hookgate's WIT (`wit/`, world
`formatter`); see README.md beside this file.
"""

import json

from wit_world import exports
from wit_world.imports import log
from wit_world.imports.types import (
    ConfigKey,
    Embed,
    EmbedAuthor,
    EmbedField,
    Event,
    Message,
    PluginInfo,
    PluginKind,
)
from wit_world.types import Err

API_VERSION = "0.2.0"
GREY = 0x95A5A6
MAX_COMMITS = 10


class FormatterApi(exports.FormatterApi):
    def info(self) -> PluginInfo:
        return PluginInfo(
            name="python-push",
            version="0.1.0",
            kind=PluginKind.FORMATTER,
            api_version=API_VERSION,
            description="GitHub pushes as an embed; a formatter written in Python.",
            config_keys=[ConfigKey(name="title_prefix", description="text before the title (default none)")],
        )

    def format(self, event: Event, config: str) -> Message | None:
        if event.event_key != "push":
            return None
        try:
            push = json.loads(event.body)
            settings = json.loads(config or "{}")
        except ValueError as error:
            raise Err(f"invalid JSON: {error}")
        repository = push.get("repository", {}).get("full_name")
        ref = push.get("ref")
        if not repository or not ref:
            raise Err("repository.full_name or ref is missing")
        branch = ref.removeprefix("refs/heads/")
        commits = push.get("commits", [])
        lines = [
            f"[`{c['id'][:7]}`]({c['url']}) {c['message'].splitlines()[0]} — {c['author']['name']}"
            for c in commits[:MAX_COMMITS]
        ]
        if len(commits) > MAX_COMMITS:
            lines.append(f"and {len(commits) - MAX_COMMITS} more")
        pusher = push.get("pusher", {}).get("name", "someone")
        log.log(log.Level.DEBUG, f"{len(commits)} commits to {repository}")
        title = f"{settings.get('title_prefix', '')}{repository}: {len(commits)} new commit(s) on {branch}"
        return Message(
            text="",
            embeds=[
                Embed(
                    title=title,
                    description="\n".join(lines) or "no commits",
                    url=push.get("compare"),
                    colour=GREY,
                    author=EmbedAuthor(name=pusher, url=None, icon_url=None),
                    fields=[EmbedField(name="branch", value=branch, inline=True)],
                    footer="python-push",
                    timestamp=None,
                )
            ],
        )
