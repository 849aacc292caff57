#pragma once
/// \file Everything in one include.

#include <continuo/diagnostic.hpp>
#include <continuo/embedding.hpp>
#include <continuo/features.hpp>
#include <continuo/file.hpp>
#include <continuo/fingerprint.hpp>
#include <continuo/index.hpp>
#include <continuo/midi/reader.hpp>
#include <continuo/midi/smf.hpp>
#include <continuo/midi/writer.hpp>
#include <continuo/passages.hpp>
#include <continuo/performance.hpp>
#include <continuo/repertoire.hpp>
#include <continuo/session.hpp>
#include <continuo/signature.hpp>
#include <continuo/tempo_map.hpp>
#include <continuo/time.hpp>
#include <continuo/version.hpp>
