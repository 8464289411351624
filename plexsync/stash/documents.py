"""Every GraphQL document PlexSync sends to Stash, in one place.

The contract test validates each entry of `DOCUMENTS` against Stash's real schema, so a document
that Stash would reject fails CI. Ask only for the fields the caller uses. Standard library only
and constants only: the hook path imports this module for `RUN_PLUGIN_TASK`.
"""

from __future__ import annotations

PLUGIN_CONFIG = """
query PlexSyncPluginConfig($ids: [ID!]) {
  configuration { plugins(include: $ids) }
}
"""

CONFIGURE_PLUGIN = """
mutation PlexSyncConfigurePlugin($plugin_id: ID!, $input: Map!) {
  configurePlugin(plugin_id: $plugin_id, input: $input)
}
"""

# Stash's API key ("" when none was generated) and login name ("" when Stash has no login):
# the wake-up timer's credential, because the plugin's session cookie expires with Stash's
# max_session_age (an hour by default).
API_KEY = """
query PlexSyncApiKey { configuration { general { apiKey username } } }
"""

RUN_PLUGIN_TASK = """
mutation PlexSyncRunTask(
  $plugin_id: ID!, $task_name: String!, $description: String, $args_map: Map
) {
  runPluginTask(
    plugin_id: $plugin_id, task_name: $task_name, description: $description, args_map: $args_map
  )
}
"""

# The fields the sync needs of a scene, and nothing more (names, not ids, of related objects).
SCENE_FIELDS = """
  id title code details director date rating100 created_at updated_at
  studio { id name }
  performers { id name }
  tags { id name }
  groups { group { id name } }
  files { id path basename size duration }
  paths { screenshot }
"""

FIND_SCENES_BY_ID = (
    """
query PlexSyncScenesById($ids: [ID!], $filter: FindFilterType) {
  findScenes(ids: $ids, filter: $filter) { count scenes {"""
    + SCENE_FIELDS
    + """} }
}
"""
)

# The same scenes through a filter (an OR chain of ids): unlike `ids`, which fails the whole
# query when one scene was deleted ("scene with id N not found"), a filter just leaves it out.
FIND_SCENES_BY_FILTER = (
    """
query PlexSyncScenesByFilter($scene_filter: SceneFilterType, $filter: FindFilterType) {
  findScenes(scene_filter: $scene_filter, filter: $filter) { count scenes {"""
    + SCENE_FIELDS
    + """} }
}
"""
)

# One page of scene ids for Sync All / Sync Recent / reconciliation, oldest change first.
SCENE_ID_PAGE = """
query PlexSyncSceneIdPage($scene_filter: SceneFilterType, $filter: FindFilterType) {
  findScenes(scene_filter: $scene_filter, filter: $filter) { count scenes { id updated_at } }
}
"""

# Which scenes own these files (an OR chain of `path` EQUALS criteria), or have a file of these
# names (INCLUDES). Stash compares with SQL LIKE, so `_`/`%` may match more: the caller
# compares the returned paths exactly.
SCENES_BY_PATH = """
query PlexSyncScenesByPath($scene_filter: SceneFilterType, $filter: FindFilterType) {
  findScenes(scene_filter: $scene_filter, filter: $filter) {
    count scenes { id files { path size } }
  }
}
"""

# Reconciliation: a page of scenes with only what gap detection needs (the sync's values, the
# files to match, the timestamps; no ids of related objects), paged by id (`id > last`).
RECONCILE_SCENE_PAGE = """
query PlexSyncReconcilePage($scene_filter: SceneFilterType, $filter: FindFilterType) {
  findScenes(scene_filter: $scene_filter, filter: $filter) { count scenes {
    id title details director date rating100 created_at updated_at
    studio { name }
    performers { name }
    tags { name }
    groups { group { name } }
    files { path size duration }
    paths { screenshot }
  } }
}
"""

# Plex → Stash play state (docs/play-state.md): what the import compares before it writes
# (a scene's plays, resume point and rating), and its three writes. sceneAddPlay and
# sceneSaveActivity fire no hook in Stash; the rating's sceneUpdate fires Scene.Update.Post.
SCENE_PLAY_STATE = """
query PlexSyncScenePlayState($scene_filter: SceneFilterType, $filter: FindFilterType) {
  findScenes(scene_filter: $scene_filter, filter: $filter) {
    count scenes { id rating100 resume_time play_history }
  }
}
"""

SCENE_ADD_PLAY = """
mutation PlexSyncAddPlay($id: ID!, $times: [Timestamp!]) {
  sceneAddPlay(id: $id, times: $times) { count }
}
"""

SCENE_SAVE_ACTIVITY = """
mutation PlexSyncSaveActivity($id: ID!, $resume_time: Float) {
  sceneSaveActivity(id: $id, resume_time: $resume_time)
}
"""

SCENE_SET_RATING = """
mutation PlexSyncSetRating($input: SceneUpdateInput!) {
  sceneUpdate(input: $input) { id }
}
"""

# Health Check's minimum-version check (tasks/health.py).
STASH_VERSION = "query PlexSyncStashVersion { version { version } }"

DOCUMENTS: dict[str, str] = {
    "PLUGIN_CONFIG": PLUGIN_CONFIG,
    "CONFIGURE_PLUGIN": CONFIGURE_PLUGIN,
    "RUN_PLUGIN_TASK": RUN_PLUGIN_TASK,
    "API_KEY": API_KEY,
    "FIND_SCENES_BY_ID": FIND_SCENES_BY_ID,
    "FIND_SCENES_BY_FILTER": FIND_SCENES_BY_FILTER,
    "SCENE_ID_PAGE": SCENE_ID_PAGE,
    "SCENES_BY_PATH": SCENES_BY_PATH,
    "RECONCILE_SCENE_PAGE": RECONCILE_SCENE_PAGE,
    "SCENE_PLAY_STATE": SCENE_PLAY_STATE,
    "SCENE_ADD_PLAY": SCENE_ADD_PLAY,
    "SCENE_SAVE_ACTIVITY": SCENE_SAVE_ACTIVITY,
    "SCENE_SET_RATING": SCENE_SET_RATING,
    "STASH_VERSION": STASH_VERSION,
}
