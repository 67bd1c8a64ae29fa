# The course registry as CMake sees it. Nothing here names a module: modules are the folders
# modules/NN_name/ that hold a module.json, and checkpoints are the entries of checkpoints/checkpoints.json.

# Reads one string field of a JSON document, failing with the file's name when it is missing.
function(_tt_json out json file)
  string(JSON value ERROR_VARIABLE err GET "${json}" ${ARGN})
  if(err)
    message(FATAL_ERROR "${file}: cannot read field '${ARGN}': ${err}")
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# Reads a JSON array of strings (missing array -> empty list).
function(_tt_json_list out json)
  set(items "")
  string(JSON n ERROR_VARIABLE err LENGTH "${json}" ${ARGN})
  if(NOT err AND n GREATER 0)
    math(EXPR last "${n} - 1")
    foreach(i RANGE ${last})
      string(JSON item GET "${json}" ${ARGN} ${i})
      list(APPEND items "${item}")
    endforeach()
  endif()
  set(${out} "${items}" PARENT_SCOPE)
endfunction()

# Sets TINYTORCH_MODULES (folder names in order) and, per module, TT_<dir>_{NUMBER,FILES,HEADERS,FRAMEWORK}.
macro(tinytorch_discover_modules)
  file(GLOB _tt_dirs LIST_DIRECTORIES true CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/modules/[0-9][0-9]_*")
  list(SORT _tt_dirs)
  set(TINYTORCH_MODULES "")
  foreach(_tt_path IN LISTS _tt_dirs)
    get_filename_component(_tt_dir "${_tt_path}" NAME)
    set(_tt_file "${_tt_path}/module.json")
    if(NOT EXISTS "${_tt_file}")
      continue()
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_tt_file}")
    file(READ "${_tt_file}" _tt_json)
    _tt_json(_tt_number "${_tt_json}" "${_tt_file}" number)
    _tt_json(_tt_name "${_tt_json}" "${_tt_file}" name)
    string(REGEX MATCH "^([0-9][0-9])_(.+)$" _ "${_tt_dir}")
    math(EXPR _tt_folder_number "${CMAKE_MATCH_1}")
    if(NOT _tt_folder_number EQUAL _tt_number OR NOT CMAKE_MATCH_2 STREQUAL _tt_name)
      message(FATAL_ERROR "${_tt_file}: number ${_tt_number} and name '${_tt_name}' do not match the folder name '${_tt_dir}'")
    endif()
    _tt_json_list(TT_${_tt_dir}_FILES "${_tt_json}" files)
    _tt_json_list(TT_${_tt_dir}_HEADERS "${_tt_json}" headers)
    _tt_json_list(TT_${_tt_dir}_FRAMEWORK "${_tt_json}" framework_files)
    # "library": framework files that need a system library the rest of the course does not
    # (module 20's HTTP layer on cpp-httplib): a target of their own, linked only where needed.
    string(JSON _tt_lib ERROR_VARIABLE _tt_no_lib GET "${_tt_json}" library target)
    if(_tt_no_lib)
      set(TT_${_tt_dir}_LIBRARY "")
    else()
      set(TT_${_tt_dir}_LIBRARY "${_tt_lib}")
      _tt_json_list(TT_${_tt_dir}_LIBRARY_SOURCES "${_tt_json}" library sources)
      _tt_json_list(TT_${_tt_dir}_LIBRARY_LINKS "${_tt_json}" library links)
    endif()
    set(TT_${_tt_dir}_NUMBER "${CMAKE_MATCH_1}")
    list(APPEND TINYTORCH_MODULES "${_tt_dir}")
  endforeach()
  if(NOT TINYTORCH_MODULES)
    message(FATAL_ERROR "No modules found: expected folders modules/NN_name/ with a module.json")
  endif()

  # Which modules come from the student's files.
  string(TOLOWER "${TINYTORCH_STUDENT_MODULES}" _tt_choice)
  if(_tt_choice STREQUAL "all")
    set(TINYTORCH_STUDENT_SET "${TINYTORCH_MODULES}")
  elseif(_tt_choice STREQUAL "none" OR _tt_choice STREQUAL "")
    set(TINYTORCH_STUDENT_SET "")
  else()
    set(TINYTORCH_STUDENT_SET "${TINYTORCH_STUDENT_MODULES}")
    foreach(_tt_m IN LISTS TINYTORCH_STUDENT_SET)
      if(NOT _tt_m IN_LIST TINYTORCH_MODULES)
        string(REPLACE ";" ", " _tt_valid "${TINYTORCH_MODULES}")
        message(FATAL_ERROR "TINYTORCH_STUDENT_MODULES names '${_tt_m}', which is not a module. Valid: all, none, ${_tt_valid}")
      endif()
    endforeach()
  endif()
endmacro()

# Compile settings shared by every object library of the framework and the modules.
function(_tt_library_settings target)
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_BINARY_DIR}/include>
    $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/core/include>
    $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/kernels/include>
    $<INSTALL_INTERFACE:include>)
  target_link_libraries(${target} PUBLIC Threads::Threads PRIVATE tinytorch_openblas tinytorch_lapacke ZLIB::ZLIB nlohmann_json::nlohmann_json)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(TINYTORCH_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
endfunction()

# The objects of one module's student files from one origin (stub | solution | student), compiled
# once and shared by every library variant that needs them. Returns the target name in `out`.
function(_tt_module_objects out dir origin)
  set(target tt_${dir}_${origin})
  if(NOT TARGET ${target})
    if(origin STREQUAL "student")
      set(root "${TINYTORCH_SUBMISSION_DIR}/${dir}")
    elseif(origin STREQUAL "solution")
      set(root "${CMAKE_SOURCE_DIR}/solutions/${dir}")
    else()
      set(root "${CMAKE_SOURCE_DIR}/modules/${dir}")
    endif()
    set(sources "")
    foreach(file IN LISTS TT_${dir}_FILES)
      if(NOT EXISTS "${root}/${file}")
        if(origin STREQUAL "student")
          message(FATAL_ERROR "Module ${dir}: your file ${root}/${file} is missing. Restore the stub with `tito module reset ${TT_${dir}_NUMBER}`.")
        else()
          message(FATAL_ERROR "Module ${dir}: ${root}/${file} is missing (${origin} source named in modules/${dir}/module.json).")
        endif()
      endif()
      list(APPEND sources "${root}/${file}")
    endforeach()
    add_library(${target} OBJECT ${sources})
    _tt_library_settings(${target})
  endif()
  set(${out} ${target} PARENT_SCOPE)
endfunction()

# The origin of a module's files when the student set is `student_set`: the student's files,
# else the solution, else (a student release has no solutions/) the stub.
function(_tt_origin out dir student_set)
  if(dir IN_LIST student_set)
    if(TINYTORCH_SUBMISSION_DIR STREQUAL "${CMAKE_SOURCE_DIR}/modules")
      set(${out} stub PARENT_SCOPE)  # the course's own modules/ folder holds the student's files
    else()
      set(${out} student PARENT_SCOPE)
    endif()
  elseif(EXISTS "${CMAKE_SOURCE_DIR}/solutions/${dir}")
    set(${out} solution PARENT_SCOPE)
  else()
    set(${out} stub PARENT_SCOPE)
  endif()
endfunction()

# A static library: the framework objects plus, per module, the objects of its origin under
# `student_set`. `tinytorch` is one such variant; the stub checks link others.
function(_tt_library_variant target student_set)
  set(objects $<TARGET_OBJECTS:tt_framework>)
  foreach(dir IN LISTS TINYTORCH_MODULES)
    _tt_origin(origin ${dir} "${student_set}")
    _tt_module_objects(module_target ${dir} ${origin})
    list(APPEND objects $<TARGET_OBJECTS:${module_target}>)
  endforeach()
  add_library(${target} STATIC ${objects})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_BINARY_DIR}/include>
    $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/core/include>
    $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/kernels/include>
    $<INSTALL_INTERFACE:include>)
  target_link_libraries(${target} PUBLIC Threads::Threads PRIVATE tinytorch_openblas tinytorch_lapacke ZLIB::ZLIB)
endfunction()

# A module's own framework library ("library" in its module.json). It does not link tinytorch:
# each user links it ahead of whichever library variant it uses (reference, stubbed, student), so
# the stub checks and `tito grade` pair it with their own variant.
function(_tt_module_library dir)
  set(target ${TT_${dir}_LIBRARY})
  set(sources "")
  foreach(file IN LISTS TT_${dir}_LIBRARY_SOURCES)
    list(APPEND sources "${CMAKE_SOURCE_DIR}/modules/${dir}/${file}")
  endforeach()
  add_library(${target} STATIC ${sources})
  _tt_on_demand(${target})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_BINARY_DIR}/include>
    $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/core/include>
    $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/kernels/include>
    $<INSTALL_INTERFACE:include>)
  target_link_libraries(${target} PUBLIC Threads::Threads ${TT_${dir}_LIBRARY_LINKS} PRIVATE nlohmann_json::nlohmann_json)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(TINYTORCH_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
  add_library(TinyTorch::${target} ALIAS ${target})
  set_property(GLOBAL APPEND PROPERTY TINYTORCH_MODULE_LIBRARIES ${target})
endfunction()

# The one library. Headers are the contract: each module's headers are reachable as <tinytorch/NAME.hpp>
# through forwarding headers, so compiler messages still name the file in modules/.
function(tinytorch_add_library)
  set(include_dir "${CMAKE_BINARY_DIR}/include/tinytorch")
  file(GLOB framework_sources CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/core/*.cpp" "${CMAKE_SOURCE_DIR}/kernels/*.cpp")
  set(manifest "{\n  \"student_dir\": \"${TINYTORCH_SUBMISSION_DIR}\",\n  \"modules\": {")
  set(sep "")
  foreach(dir IN LISTS TINYTORCH_MODULES)
    foreach(header IN LISTS TT_${dir}_HEADERS)
      file(CONFIGURE OUTPUT "${include_dir}/${header}"
           CONTENT "// Generated: the contract lives in modules/${dir}/${header}.\n#include \"${CMAKE_SOURCE_DIR}/modules/${dir}/${header}\"\n")
    endforeach()
    foreach(file IN LISTS TT_${dir}_FRAMEWORK)
      list(APPEND framework_sources "${CMAKE_SOURCE_DIR}/modules/${dir}/${file}")
    endforeach()
    _tt_origin(origin ${dir} "${TINYTORCH_STUDENT_SET}")
    if(origin STREQUAL "solution")
      set(root "${CMAKE_SOURCE_DIR}/solutions/${dir}")
    elseif(origin STREQUAL "student" OR dir IN_LIST TINYTORCH_STUDENT_SET)
      set(origin student)
      set(root "${TINYTORCH_SUBMISSION_DIR}/${dir}")
    else()
      set(root "${CMAKE_SOURCE_DIR}/modules/${dir}")
    endif()
    string(APPEND manifest "${sep}\n    \"${dir}\": {\"origin\": \"${origin}\", \"dir\": \"${root}\"}")
    set(sep ",")
  endforeach()
  string(APPEND manifest "\n  }\n}\n")
  file(CONFIGURE OUTPUT "${CMAKE_BINARY_DIR}/tinytorch_sources.json" CONTENT "${manifest}")

  add_library(tt_framework OBJECT ${framework_sources})
  _tt_library_settings(tt_framework)
  _tt_library_variant(tinytorch "${TINYTORCH_STUDENT_SET}")
  add_library(TinyTorch::tinytorch ALIAS tinytorch)
  foreach(dir IN LISTS TINYTORCH_MODULES)
    if(TT_${dir}_LIBRARY)
      _tt_module_library(${dir})
    endif()
  endforeach()
endfunction()

# With TINYTORCH_BUILD_ON_DEMAND (the student preset) a target is left out of `all`: the first
# build is tito and the library; `tito module test NN` builds that module's suite when asked.
function(_tt_on_demand)
  if(TINYTORCH_BUILD_ON_DEMAND)
    set_target_properties(${ARGN} PROPERTIES EXCLUDE_FROM_ALL ON)
  endif()
endfunction()

# One executable per suite; every test registered individually with ctest.
#   visible: modules/NN_name/tests/*.cpp  labels visible;module-NN
#   hidden:  tests/NN_name/*.cpp          labels hidden;module-NN   (grading only, never shipped)
# The test sources are compiled once (an object library, at -O1: the work is in the -O3 library) and
# linked into every executable that needs them.
function(tinytorch_add_suite target kind dir)
  file(GLOB test_sources CONFIGURE_DEPENDS ${ARGN})
  if(NOT test_sources)
    return()
  endif()
  add_library(${target}_objects OBJECT ${test_sources})
  _tt_on_demand(${target}_objects)
  target_link_libraries(${target}_objects PRIVATE ${TT_${dir}_LIBRARY} tinytorch GTest::gtest)
  target_compile_options(${target}_objects PRIVATE -O1)
  # Hidden suites use the grading main (grading/grading_main.cpp): gtest_main when run by hand or
  # ctest, plus the result channel `tito grade` reads. A student release has neither.
  if(kind STREQUAL "hidden" AND TARGET tinytorch_grading_main)
    set(main tinytorch_grading_main)
  else()
    set(main GTest::gtest_main)
  endif()
  _tt_suite_executable(${target} ${target}_objects "${TT_${dir}_LIBRARY} tinytorch" ${main})
  if(kind STREQUAL "visible")
    add_dependencies(visible_tests ${target})
  endif()
  gtest_discover_tests(${target}
    TEST_PREFIX "${kind}.${dir}."
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS "${kind};LABELS;module-${TT_${dir}_NUMBER}" TIMEOUT 120)  # LABELS repeated: a ;-list would be split (CMake #17812)
  if(kind STREQUAL "hidden" AND TINYTORCH_STUB_CHECKS)
    _tt_add_stub_checks(${target} ${dir} ${main})
  endif()
endfunction()

# `libraries`: the library variant, preceded by the module's own framework library if it has one.
function(_tt_suite_executable target objects libraries main)
  add_executable(${target} $<TARGET_OBJECTS:${objects}>)
  _tt_on_demand(${target} ${objects})
  separate_arguments(libraries UNIX_COMMAND "${libraries}")  # "[module library] variant"
  target_link_libraries(${target} PRIVATE ${libraries} GTest::gtest ${main})
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
endfunction()

# The grading suites are themselves tested: module dir's hidden suite linked against a library in
# which only that module comes from its stubs (every other module from the solutions, as `tito
# grade` isolates a module), and against the all-stubs library (the `student` preset): every test
# must fail in both. ctest label `stubcheck`.
function(_tt_add_stub_checks target dir main)
  if(NOT TARGET tinytorch_all_stubs)
    _tt_library_variant(tinytorch_all_stubs "${TINYTORCH_MODULES}")
  endif()
  _tt_library_variant(tinytorch_stubbed_${dir} "${dir}")
  _tt_suite_executable(${target}_on_stubs ${target}_objects "${TT_${dir}_LIBRARY} tinytorch_stubbed_${dir}" ${main})
  _tt_suite_executable(${target}_on_all_stubs ${target}_objects "${TT_${dir}_LIBRARY} tinytorch_all_stubs" ${main})
  foreach(variant IN ITEMS on_stubs on_all_stubs)
    add_test(NAME stubcheck.${dir}.${variant}
             COMMAND tinytorch_expect_all_fail $<TARGET_FILE:${target}_${variant}>)
    set_tests_properties(stubcheck.${dir}.${variant} PROPERTIES
      LABELS "stubcheck;module-${TT_${dir}_NUMBER}" TIMEOUT 600)
  endforeach()
endfunction()

function(tinytorch_add_module_tests)
  if(EXISTS "${CMAKE_SOURCE_DIR}/grading/grading_main.cpp" AND NOT TARGET tinytorch_grading_main)
    add_library(tinytorch_grading_main STATIC "${CMAKE_SOURCE_DIR}/grading/grading_main.cpp")
    target_link_libraries(tinytorch_grading_main PUBLIC GTest::gtest PRIVATE nlohmann_json::nlohmann_json)
    target_compile_options(tinytorch_grading_main PRIVATE -Wall -Wextra)
  endif()
  # Stub checks need the solutions (instructor copy) and a reference library to compare with.
  set(TINYTORCH_STUB_CHECKS OFF)
  if(EXISTS "${CMAKE_SOURCE_DIR}/solutions" AND NOT TINYTORCH_STUDENT_SET AND TINYTORCH_ENABLE_STUB_CHECKS)
    set(TINYTORCH_STUB_CHECKS ON)
    add_executable(tinytorch_expect_all_fail "${CMAKE_SOURCE_DIR}/tests/support/expect_all_fail.cpp")
    target_link_libraries(tinytorch_expect_all_fail PRIVATE nlohmann_json::nlohmann_json)
    set_target_properties(tinytorch_expect_all_fail PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  endif()
  # Every visible suite at once (`cmake --build --preset student --target visible_tests`), for
  # `ctest -L visible` in a build that makes them on demand.
  add_custom_target(visible_tests)
  # The visible tests' comparison helper (tinytorch/testing.hpp), instructor copy only: it needs
  # module 02 working, so it runs against the solutions.
  if(EXISTS "${CMAKE_SOURCE_DIR}/tests/support/testing_helper_test.cpp" AND NOT TINYTORCH_STUDENT_SET)
    add_executable(testing_helper_tests "${CMAKE_SOURCE_DIR}/tests/support/testing_helper_test.cpp")
    target_link_libraries(testing_helper_tests PRIVATE tinytorch GTest::gtest GTest::gtest_main)
    target_compile_options(testing_helper_tests PRIVATE -O1 -Wall -Wextra)
    set_target_properties(testing_helper_tests PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
    gtest_discover_tests(testing_helper_tests TEST_PREFIX "support." DISCOVERY_MODE PRE_TEST
      PROPERTIES LABELS "support" TIMEOUT 60)
  endif()
  foreach(dir IN LISTS TINYTORCH_MODULES)
    tinytorch_add_suite(visible_${dir} visible ${dir} "${CMAKE_SOURCE_DIR}/modules/${dir}/tests/*.cpp")
    tinytorch_add_suite(hidden_${dir} hidden ${dir} "${CMAKE_SOURCE_DIR}/tests/${dir}/*.cpp")
  endforeach()
endfunction()

# checkpoints/checkpoints.json: {"checkpoints": [{"id", "question", "test", ...}]}; one executable each.
function(tinytorch_add_checkpoints)
  set(file "${CMAKE_SOURCE_DIR}/checkpoints/checkpoints.json")
  if(NOT EXISTS "${file}")
    return()
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${file}")
  file(READ "${file}" json)
  string(JSON n LENGTH "${json}" checkpoints)
  if(n EQUAL 0)
    return()
  endif()
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    _tt_json(id "${json}" "${file}" checkpoints ${i} id)
    _tt_json(test "${json}" "${file}" checkpoints ${i} test)
    set(target checkpoint_${id})
    add_executable(${target} "${CMAKE_SOURCE_DIR}/checkpoints/${test}")
    _tt_on_demand(${target})
    target_link_libraries(${target} PRIVATE tinytorch GTest::gtest GTest::gtest_main)
    # The small data set that ships with the course (datasets/tinydigits), for checkpoints that
    # read real data without a download.
    target_compile_definitions(${target} PRIVATE TINYTORCH_DATASETS_DIR="${CMAKE_SOURCE_DIR}/datasets")
    set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/checkpoints")
    gtest_discover_tests(${target} TEST_PREFIX "checkpoint.${id}." DISCOVERY_MODE PRE_TEST
      PROPERTIES LABELS "checkpoint;LABELS;checkpoint-${id}" TIMEOUT 300)
  endforeach()
endfunction()

# `cmake --install` makes find_package(TinyTorch) work for milestones and the student's own programs.
function(tinytorch_install_package)
  include(GNUInstallDirs)
  include(CMakePackageConfigHelpers)
  foreach(dir IN LISTS TINYTORCH_MODULES)
    foreach(header IN LISTS TT_${dir}_HEADERS)
      install(FILES "${CMAKE_SOURCE_DIR}/modules/${dir}/${header}" DESTINATION include/tinytorch)
    endforeach()
  endforeach()
  install(DIRECTORY "${CMAKE_SOURCE_DIR}/core/include/" "${CMAKE_SOURCE_DIR}/kernels/include/" DESTINATION include)
  get_property(module_libraries GLOBAL PROPERTY TINYTORCH_MODULE_LIBRARIES)
  install(TARGETS tinytorch ${module_libraries} tinytorch_openblas tinytorch_lapacke tinytorch_httplib EXPORT TinyTorchTargets ARCHIVE DESTINATION lib)
  install(EXPORT TinyTorchTargets NAMESPACE TinyTorch:: DESTINATION lib/cmake/TinyTorch)
  file(WRITE "${CMAKE_BINARY_DIR}/TinyTorchConfig.cmake.in" [=[
@PACKAGE_INIT@
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(ZLIB)
find_dependency(nlohmann_json)
include("${CMAKE_CURRENT_LIST_DIR}/TinyTorchTargets.cmake")
]=])
  configure_package_config_file("${CMAKE_BINARY_DIR}/TinyTorchConfig.cmake.in"
    "${CMAKE_BINARY_DIR}/TinyTorchConfig.cmake" INSTALL_DESTINATION lib/cmake/TinyTorch)
  write_basic_package_version_file("${CMAKE_BINARY_DIR}/TinyTorchConfigVersion.cmake"
    COMPATIBILITY SameMinorVersion)
  install(FILES "${CMAKE_BINARY_DIR}/TinyTorchConfig.cmake" "${CMAKE_BINARY_DIR}/TinyTorchConfigVersion.cmake"
    DESTINATION lib/cmake/TinyTorch)
endfunction()
