# The CLIP tokenizer's data, for the `tessera` target (included after it is defined):
#  - open_clip's BPE vocabulary, bpe_simple_vocab_16e6.txt.gz, found inside the open_clip
#    wheel of the virtual environment (like torch.cmake finds the torch wheel) and compiled
#    in as the tokenizer's default path. -DTESSERA_CLIP_VOCAB=/path picks another file; at
#    run time the environment variable TESSERA_CLIP_VOCAB overrides both.
#  - the Unicode / HTML tables (third_party/gen_unicode_tables.py), written by the venv's
#    Python into the build folder at configure time: the same character facts as the
#    Python that runs open_clip, without committing ~250 KB of tables.

set(TESSERA_CLIP_VOCAB "" CACHE FILEPATH
    "CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz); empty = find it in the open_clip wheel")
set(_clip_vocab "${TESSERA_CLIP_VOCAB}")
if(NOT _clip_vocab)
  file(GLOB _clip_vocab_candidates "${TESSERA_VENV}/lib/python3*/site-packages/open_clip/bpe_simple_vocab_16e6.txt.gz")
  if(_clip_vocab_candidates)
    list(GET _clip_vocab_candidates 0 _clip_vocab)
  else()
    message(WARNING "open_clip's bpe_simple_vocab_16e6.txt.gz not found under ${TESSERA_VENV} "
                    "(run third_party/setup.sh); the CLIP tokenizer will need TESSERA_CLIP_VOCAB at run time")
  endif()
endif()
if(_clip_vocab AND NOT EXISTS "${_clip_vocab}")
  message(WARNING "TESSERA_CLIP_VOCAB=${_clip_vocab} does not exist")
endif()
message(STATUS "CLIP vocabulary: ${_clip_vocab}")
# Only on the file that reads it: a target-wide definition would make the precompiled
# header differ between the library and the targets that reuse it (the CLI, the tests).
set_source_files_properties("${PROJECT_SOURCE_DIR}/src/tessera/text/bpe_tokenizer.cpp" PROPERTIES
  COMPILE_DEFINITIONS "TESSERA_CLIP_VOCAB_DEFAULT=\"${_clip_vocab}\"")

set(_unicode_script "${PROJECT_SOURCE_DIR}/third_party/gen_unicode_tables.py")
set(_unicode_out "${CMAKE_BINARY_DIR}/generated")
set(_unicode_python "${TESSERA_VENV}/bin/python")
if(NOT EXISTS "${_unicode_python}")
  message(FATAL_ERROR "${_unicode_python} not found; run third_party/setup.sh first")
endif()
# Regenerated when the script or the Python changes (a few seconds), not on every configure.
file(SHA256 "${_unicode_script}" _unicode_hash)
set(_unicode_stamp "${_unicode_hash} ${_unicode_python}")
if(NOT EXISTS "${_unicode_out}/unicode_tables.inc" OR NOT EXISTS "${_unicode_out}/html_tables.inc"
   OR NOT "${_unicode_stamp}" STREQUAL "${TESSERA_UNICODE_TABLES_STAMP}")
  message(STATUS "Generating the CLIP tokenizer's Unicode tables with ${_unicode_python}")
  execute_process(COMMAND "${_unicode_python}" "${_unicode_script}" "${_unicode_out}"
                  RESULT_VARIABLE _unicode_rc ERROR_VARIABLE _unicode_err)
  if(NOT _unicode_rc EQUAL 0)
    message(FATAL_ERROR "third_party/gen_unicode_tables.py failed:\n${_unicode_err}")
  endif()
  set(TESSERA_UNICODE_TABLES_STAMP "${_unicode_stamp}" CACHE INTERNAL "what the Unicode tables were generated from")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_unicode_script}")
target_include_directories(tessera PRIVATE "${_unicode_out}")
