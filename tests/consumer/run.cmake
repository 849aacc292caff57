# Proves that continuo works as a dependency of another project (tests/consumer).
#
#   cmake -DSOURCE_DIR=<continuo> -DWORK_DIR=<scratch> -DMODE=find_package|add_subdirectory
#         [-DGENERATOR=Ninja] -P tests/consumer/run.cmake
#
# find_package:     configures, builds and installs continuo into WORK_DIR/find_package/prefix
#                   (tests and tools off), checks that every public header was installed, builds and
#                   runs the consumer with find_package(continuo CONFIG REQUIRED), then checks
#                   `pkg-config --cflags --libs continuo` and builds and runs the consumer with them.
# add_subdirectory: builds and runs the consumer with add_subdirectory(SOURCE_DIR continuo).
#
# Every step logs to WORK_DIR/MODE/<step>.log; a failing step stops with its command and log.
# CMAKE_BUILD_PARALLEL_LEVEL sets the build jobs (default 2).
cmake_minimum_required(VERSION 3.25)

foreach(var IN ITEMS SOURCE_DIR WORK_DIR MODE)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "consumer: -D${var}=... is required")
  endif()
endforeach()
if(NOT MODE MATCHES "^(find_package|add_subdirectory)$")
  message(FATAL_ERROR "consumer: MODE must be find_package or add_subdirectory, not '${MODE}'")
endif()
if(NOT EXISTS "${SOURCE_DIR}/CMakeLists.txt")
  message(FATAL_ERROR "consumer: SOURCE_DIR '${SOURCE_DIR}' holds no CMakeLists.txt")
endif()

set(consumer_dir ${CMAKE_CURRENT_LIST_DIR})
set(work ${WORK_DIR}/${MODE})
file(REMOVE_RECURSE ${work})
file(MAKE_DIRECTORY ${work})

set(generator_args)
if(GENERATOR)
  set(generator_args -G ${GENERATOR})
endif()
if(DEFINED ENV{CMAKE_BUILD_PARALLEL_LEVEL})
  set(jobs $ENV{CMAKE_BUILD_PARALLEL_LEVEL})
else()
  set(jobs 2)
endif()
set(build_type Release)

# Runs one step; on failure stops with the command and the end of its output.
function(step name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "COMMAND")
  list(JOIN arg_COMMAND " " shown)
  execute_process(COMMAND ${arg_COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  file(WRITE ${work}/${name}.log "$ ${shown}\n${out}")
  if(NOT rc EQUAL 0)
    string(LENGTH "${out}" length)
    if(length GREATER 6000)
      math(EXPR from "${length} - 6000")
      string(SUBSTRING "${out}" ${from} -1 out)
      set(out "...\n${out}")
    endif()
    message(FATAL_ERROR "consumer (${MODE}): step '${name}' failed (${rc}).\n"
                        "Command: ${shown}\nLog: ${work}/${name}.log\n${out}")
  endif()
  message(STATUS "consumer (${MODE}): ${name}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

# Writes the list of public headers under `include_dir`, one "continuo/x.hpp" per line.
function(list_headers include_dir out_var)
  file(GLOB_RECURSE headers RELATIVE ${include_dir} ${include_dir}/continuo/*.hpp)
  list(SORT headers)
  set(${out_var} ${headers} PARENT_SCOPE)
endfunction()

list_headers(${SOURCE_DIR}/include source_headers)
if(NOT source_headers)
  message(FATAL_ERROR "consumer: no headers found under ${SOURCE_DIR}/include/continuo")
endif()

set(consumer_build ${work}/consumer-build)
set(consumer_args -DCMAKE_BUILD_TYPE=${build_type} -DCONSUMER_HEADER_LIST=${work}/headers.txt)

if(MODE STREQUAL "find_package")
  set(prefix ${work}/prefix)
  set(continuo_build ${work}/continuo-build)
  step(configure-continuo COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${continuo_build} ${generator_args}
       -DCMAKE_BUILD_TYPE=${build_type} -DCMAKE_INSTALL_PREFIX=${prefix} -DCONTINUO_INSTALL=ON
       -DCONTINUO_BUILD_TESTS=OFF -DCONTINUO_BUILD_TOOLS=OFF)
  step(build-continuo COMMAND ${CMAKE_COMMAND} --build ${continuo_build} --config ${build_type} --parallel ${jobs})
  step(install-continuo COMMAND ${CMAKE_COMMAND} --install ${continuo_build} --config ${build_type})

  list_headers(${prefix}/include installed_headers)
  if(NOT installed_headers STREQUAL source_headers)
    set(missing ${source_headers})
    list(REMOVE_ITEM missing ${installed_headers} "")
    set(extra ${installed_headers})
    list(REMOVE_ITEM extra ${source_headers} "")
    message(FATAL_ERROR "consumer (${MODE}): the installed headers differ from include/: "
                        "missing [${missing}], extra [${extra}]")
  endif()
  list(JOIN installed_headers "\n" lines)
  file(WRITE ${work}/headers.txt "${lines}\n")

  step(configure-consumer COMMAND ${CMAKE_COMMAND} -S ${consumer_dir} -B ${consumer_build} ${generator_args}
       ${consumer_args} -DCONSUMER_MODE=find_package -DCMAKE_PREFIX_PATH=${prefix})
  # The package must come from the prefix, not from a build tree or a system copy.
  file(STRINGS ${consumer_build}/CMakeCache.txt found_dir REGEX "^continuo_DIR:")
  string(REGEX REPLACE "^continuo_DIR:[A-Z]+=" "" found_dir "${found_dir}")
  file(REAL_PATH ${prefix} real_prefix)
  file(REAL_PATH "${found_dir}" real_found_dir)
  string(FIND "${real_found_dir}" "${real_prefix}/" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "consumer (${MODE}): find_package found continuo in '${found_dir}', not under ${prefix}")
  endif()
else()
  list(JOIN source_headers "\n" lines)
  file(WRITE ${work}/headers.txt "${lines}\n")
  step(configure-consumer COMMAND ${CMAKE_COMMAND} -S ${consumer_dir} -B ${consumer_build} ${generator_args}
       ${consumer_args} -DCONSUMER_MODE=add_subdirectory -DCONTINUO_SOURCE_DIR=${SOURCE_DIR}
       -DCONTINUO_BUILD_TESTS=OFF -DCONTINUO_BUILD_TOOLS=OFF)
endif()

step(build-consumer COMMAND ${CMAKE_COMMAND} --build ${consumer_build} --config ${build_type} --parallel ${jobs})
# The public headers must compile without a warning in a consumer that turns warnings on.
string(REGEX MATCHALL "[^\n]*continuo/[^\n]*\\.hpp:[0-9]+:[0-9]+: warning:[^\n]*" header_warnings "${step_output}")
if(header_warnings)
  list(JOIN header_warnings "\n" header_warnings)
  message(FATAL_ERROR "consumer (${MODE}): the public headers warn in a consumer build:\n${header_warnings}")
endif()
step(run-consumer COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${consumer_build} -C ${build_type} --output-on-failure)

if(MODE STREQUAL "find_package")
  # pkg-config: the installed continuo.pc gives flags that build and link the same program.
  find_program(pkg_config NAMES pkg-config pkgconf)
  if(NOT pkg_config)
    message(FATAL_ERROR "consumer (${MODE}): pkg-config is not installed (scripts/install-deps.sh installs it)")
  endif()
  file(GLOB_RECURSE pc_files ${prefix}/*/continuo.pc)
  list(LENGTH pc_files pc_count)
  if(NOT pc_count EQUAL 1)
    message(FATAL_ERROR "consumer (${MODE}): expected one installed continuo.pc under ${prefix}, found [${pc_files}]")
  endif()
  get_filename_component(pc_dir ${pc_files} DIRECTORY)
  set(ENV{PKG_CONFIG_PATH} ${pc_dir})
  step(pkg-config COMMAND ${pkg_config} --cflags --libs continuo)
  string(STRIP "${step_output}" pc_flags)
  foreach(want IN ITEMS "-I${prefix}/include" "-lcontinuo")
    string(FIND " ${pc_flags} " " ${want} " at)
    if(at EQUAL -1)
      message(FATAL_ERROR "consumer (${MODE}): `pkg-config --cflags --libs continuo` gave '${pc_flags}', without ${want}")
    endif()
  endforeach()
  step(pkg-config-version COMMAND ${pkg_config} --modversion continuo)
  string(STRIP "${step_output}" pc_version)
  file(STRINGS ${consumer_build}/CMakeCache.txt cxx REGEX "^CMAKE_CXX_COMPILER:")
  string(REGEX REPLACE "^CMAKE_CXX_COMPILER:[A-Z]+=" "" cxx "${cxx}")
  separate_arguments(pc_args UNIX_COMMAND "${pc_flags}")
  step(build-with-pkg-config COMMAND ${cxx} ${consumer_dir}/main.cpp "-DCONSUMER_EXPECTED_VERSION=\"${pc_version}\""
       ${pc_args} -o ${work}/consumer-pkg-config)
  step(run-with-pkg-config COMMAND ${work}/consumer-pkg-config)
endif()

message(STATUS "consumer (${MODE}): all steps passed")
