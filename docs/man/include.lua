-- Pandoc Lua filter that assembles a manual page from the repository's own
-- documents, so that nothing is written twice. A skeleton (docs/man/*.md)
-- holds the man-only parts (NAME, FILES, SEE ALSO) and include blocks:
--
--   ::: {.include file="README.md" section="exit-codes" title="EXIT STATUS"}
--   :::
--
-- file     a path relative to the metadata `source-dir`, or "@cli" for the
--          command line's reference (metadata `cli-reference`, written by
--          `jobwarden --markdown-reference`)
-- section  the identifier of a heading of that file (pandoc's automatic
--          identifiers); that heading and everything under it is included.
--          Without it, the whole file except its first heading.
-- intro    "yes": only the text before the section's first subsection
-- title    replaces the section's heading text; heading="no" drops it
-- level    the level the section's heading gets (default 1: .SH); the
--          headings under it move with it
--
-- A file or section that does not exist is an error: the build stops
-- rather than ship a manual page with a hole in it. Links are rewritten for
-- an installed system: docs/policy.md -> jobwarden.yml(5), README.md ->
-- jobwarden(1), docs/, examples/ and packaging/<dir>/ -> the package's
-- documentation directory (metadata `doc-dir`); other relative links keep
-- their text only.

local vars = {}

local function read_document(file)
  local path = file == "@cli" and vars["cli-reference"] or (vars["source-dir"] .. "/" .. file)
  local handle = io.open(path, "r")
  if not handle then error("include: cannot read " .. path) end
  local text = handle:read("a")
  handle:close()
  return pandoc.read(text, "markdown").blocks
end

local function find_section(blocks, id)
  for _, b in ipairs(blocks) do
    if b.t == "Div" and b.classes:includes("section") then
      if b.identifier == id then return b end
      local found = find_section(b.content, id)
      if found then return found end
    end
  end
  return nil
end

-- make_sections' Divs back to a flat list of blocks.
local function flatten(blocks, out)
  for _, b in ipairs(blocks) do
    if b.t == "Div" and b.classes:includes("section") then
      flatten(b.content, out)
    else
      out:insert(b)
    end
  end
  return out
end

local function installed_target(path)
  local doc = vars["doc-dir"]
  if path == "docs/policy.md" then return "jobwarden.yml(5)", true end
  if path == "README.md" then return "jobwarden(1)", true end
  if path:match("^docs/") then return doc .. "/" .. path:sub(6) end
  if path:match("^examples/") or path == "examples" then return doc .. "/" .. path end
  if path:match("^packaging/[^/]+/") then return doc .. "/examples/" .. path:sub(11) end
  return nil
end

local function rewrite_link(link)
  local target = link.target
  if target:match("^%a[%w+.-]*:") then return link end  -- http:, mailto:, ...
  local path = target:match("^([^#]*)")
  local to, is_page = installed_target(path)
  if not to then return link.content end
  local shown = is_page and pandoc.Strong(pandoc.Str(to)) or pandoc.Code(to)
  local text = pandoc.utils.stringify(link.content)
  if text == path or text == target then return shown end
  local out = pandoc.List(link.content)
  out:extend({pandoc.Space(), pandoc.Str("("), shown, pandoc.Str(")")})
  return out
end

-- Tables become definition lists: the first column is the term, the
-- others are its lines, each labelled with its column's heading. Manual
-- pages are read at any terminal width, where tbl tables of prose overflow.
local function cell_inlines(blocks)
  local out = pandoc.List()
  for i, b in ipairs(blocks) do
    if i > 1 then out:insert(pandoc.Space()) end
    out:extend(b.content or {pandoc.Str(pandoc.utils.stringify(b))})
  end
  return out
end

local function table_to_list(tbl)
  local simple = pandoc.utils.to_simple_table(tbl)
  local items = pandoc.List()
  for _, row in ipairs(simple.rows) do
    local definition = pandoc.List()
    for j = 2, #row do
      local line = cell_inlines(row[j])
      local label = pandoc.utils.stringify(simple.headers[j] or {})
      if #row > 2 and label ~= "" then
        line = pandoc.List({pandoc.Emph(cell_inlines(simple.headers[j])), pandoc.Str(":"), pandoc.Space()}) .. line
      end
      definition:insert(pandoc.Plain(line))
    end
    items:insert({cell_inlines(row[1]), {definition}})
  end
  return pandoc.DefinitionList(items)
end

local function shift_headings(blocks, delta)
  return pandoc.walk_block(pandoc.Div(blocks), {
    Header = function(h)
      h.level = h.level + delta
      if h.level < 1 then error("include: a heading would move above level 1") end
      return h
    end,
  }).content
end

local function include(div)
  if not div.classes:includes("include") then return nil end
  local a = div.attributes
  local sections = pandoc.utils.make_sections(false, nil, read_document(a.file))
  local section
  if a.section then
    section = find_section(sections, a.section)
    if not section then error("include: no section '" .. a.section .. "' in " .. a.file) end
  else
    section = sections[1]
    if not (section and section.t == "Div") then error("include: no heading in " .. a.file) end
  end
  local heading = section.content[1]
  local body = pandoc.List()
  for i = 2, #section.content do
    local b = section.content[i]
    if a.intro == "yes" and b.t == "Div" and b.classes:includes("section") then break end
    body:insert(b)
  end
  body = flatten(body, pandoc.List())
  local level = tonumber(a.level or "1")
  body = shift_headings(body, level - heading.level)
  if a.section and a.heading ~= "no" then
    if a.title then heading.content = {pandoc.Str(a.title)} end
    heading.level = level
    body:insert(1, heading)
  end
  return pandoc.walk_block(pandoc.Div(body), {Link = rewrite_link}).content
end

return {
  {Meta = function(meta)
    for _, key in ipairs({"source-dir", "cli-reference", "doc-dir"}) do
      if not meta[key] then error("include: metadata '" .. key .. "' is not set") end
      vars[key] = pandoc.utils.stringify(meta[key])
    end
  end},
  {Div = include},
  {Table = table_to_list},
  -- Section headings (.SH) in capitals, as manual pages have them.
  {Header = function(h)
    if h.level == 1 then h.content = {pandoc.Str(pandoc.text.upper(pandoc.utils.stringify(h.content)))} end
    return h
  end},
}
